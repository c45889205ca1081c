// Helpers for the tests over real sockets: a connected pair of sessions on
// loopback, temporary socket paths, descriptor counts and bounded waits.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "libchan/libchan.hpp"

namespace net_test {

using namespace std::chrono_literals;

/// Polls `pred` until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

/// Open descriptors of this process.
inline int fd_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n - 3;  // ".", ".." and the directory itself
}

/// A directory for socket files, removed with the object.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "libchan-net-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// A listener, a dialed session and the session it accepted.
struct session_pair {
  explicit session_pair(const std::string& listen_url, libchan::SessionOptions client_opts = {},
                        libchan::SessionOptions server_opts = {}) {
    listener = libchan::listen(listen_url, server_opts);
    client = libchan::dial(listener.local_address(), client_opts);
    std::error_code ec;
    server = listener.accept_for(10s, ec);
    if (ec || !server) throw std::runtime_error("no session accepted: " + ec.message());
  }
  ~session_pair() {
    client.close();
    server.close();
    listener.close();
  }

  /// A fresh channel: the client's Sender, the server's Receiver.
  std::pair<libchan::Sender<libchan::Value>, libchan::Receiver<libchan::Value>> channel() {
    auto tx = client.open_sender();
    std::error_code ec;
    auto rx = server.accept_receiver_for(10s, ec);
    if (ec || !rx) throw std::runtime_error("no channel arrived: " + ec.message());
    return {std::move(tx), std::move(rx)};
  }

  libchan::Listener listener;
  libchan::Session client;
  libchan::Session server;
};

/// A byte stream from the client to the server: the writing end stays here
/// (`mine`), the other end travels in a message on a fresh channel and is
/// taken out on the server (`remote`).
struct carried_stream {
  libchan::ByteStream mine, remote;
};
inline carried_stream carry_stream(session_pair& p) {
  auto [tx, rx] = p.channel();
  auto [mine, theirs] = libchan::stream_pair();
  tx.send(libchan::make_map("Stream", std::move(theirs)));
  auto msg = rx.receive_for(10s);
  if (!msg) throw std::runtime_error("the message carrying the stream did not arrive");
  return {std::move(mine), msg->find("Stream")->take_stream()};
}

/// Sends `total` bytes of a pseudo-random sequence through one byte stream
/// carried in a message from the client to the server, in writes of
/// `chunk` bytes, and checks count and checksum on the other side. Bounded:
/// on time-out the session is closed, which unblocks both sides.
inline void expect_stream_transfer(session_pair& p, std::uint64_t total, std::chrono::seconds bound,
                                   std::size_t chunk = 256u << 10,
                                   std::size_t read_size = 64u << 10) {
  auto carried = carry_stream(p);
  auto& mine = carried.mine;
  auto& remote = carried.remote;

  auto checksum = [](std::uint64_t h, std::span<const std::byte> data) {  // FNV-1a
    for (auto b : data) h = (h ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ull;
    return h;
  };
  const std::uint64_t seed = 0xcbf29ce484222325ull;
  auto writer = std::async(std::launch::async, [&, &mine = mine] {
    std::vector<std::byte> buf(chunk);
    std::uint64_t x = 88172645463325252ull, h = seed, sent = 0;
    std::error_code ec;
    while (sent < total && !ec) {
      auto len = std::min<std::uint64_t>(buf.size(), total - sent);
      for (std::size_t i = 0; i < len; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = static_cast<std::byte>(x);
      }
      std::span<const std::byte> part(buf.data(), len);
      mine.write(part, ec);
      h = checksum(h, part);
      sent += len;
    }
    mine.close_write();
    return std::make_pair(h, ec);
  });
  auto reader = std::async(std::launch::async, [&] {
    std::vector<std::byte> buf(read_size);
    std::uint64_t h = seed, got = 0;
    std::error_code ec;
    for (;;) {
      auto n = remote.read_some(buf, ec);
      if (ec || n == 0) break;
      h = checksum(h, std::span<const std::byte>(buf.data(), n));
      got += n;
    }
    return std::make_tuple(h, got, ec);
  });
  if (reader.wait_for(bound) != std::future_status::ready) {
    p.client.close();
    ADD_FAILURE() << "transfer did not finish within " << bound.count() << " s";
  }
  auto [read_hash, got, read_ec] = reader.get();
  auto [write_hash, write_ec] = writer.get();
  EXPECT_FALSE(write_ec) << write_ec.message();
  EXPECT_FALSE(read_ec) << read_ec.message();
  EXPECT_EQ(got, total);
  EXPECT_EQ(read_hash, write_hash);
}

}  // namespace net_test
