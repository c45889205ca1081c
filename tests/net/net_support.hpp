// Helpers for the tests over real sockets: a connected pair of sessions on
// loopback, temporary socket paths, descriptor counts and bounded waits.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

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

}  // namespace net_test
