// TLS without I/O: one OpenSSL connection whose records come from and go to
// memory that the caller fills and drains. A socket read of any size feeds
// the engine, one read() decrypts every record that read brought, and one
// write() encrypts a whole gathered write into one buffer for one system
// call. (Asio's ssl::stream moves one record, at most 17 KiB, per
// operation: a system call, a completion and a wake-up of the session per
// 16 KiB of data.)
//
// Not thread-safe: one connection's executor calls it.
#pragma once

#include <openssl/ssl.h>

#include <boost/system/error_code.hpp>
#include <cstddef>
#include <span>
#include <vector>

namespace libchan::detail::io::tls {

class engine {
 public:
  enum class role { client, server };

  /// What an operation came to. `ec` is an error in Asio's ssl category
  /// (OpenSSL's reason), boost::asio::error::eof when the peer closed with
  /// close_notify, or none. `want_input`: nothing could be done without
  /// more bytes from the peer.
  struct outcome {
    std::size_t bytes = 0;
    boost::system::error_code ec;
    bool want_input = false;
  };

  /// Takes a reference to `ctx`; null native() if OpenSSL is out of memory.
  explicit engine(SSL_CTX* ctx);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  SSL* native() const noexcept { return ssl_; }

  /// Starts or continues the handshake; `bytes` stays 0.
  outcome handshake(role r);
  bool handshake_done() const;

  /// Decrypts into `out` as many bytes as the input holds, up to its size.
  /// An error or the peer's close after some bytes is kept for the next
  /// call, so that no byte read before it is lost.
  outcome read(std::span<char> out);

  /// Encrypts all of `data` into output().
  outcome write(std::span<const char> data);

  /// Queues our close_notify in output(), once.
  void close_notify();

  /// Where the next socket read goes: at least `min` free bytes after the
  /// unread input; then input_added(n) with what the read brought.
  std::span<char> input_space(std::size_t min);
  void input_added(std::size_t n) noexcept { in_end_ += n; }

  /// Records waiting for the socket. The caller swaps them out (the vector
  /// keeps its capacity for the next write) and writes them in order.
  std::vector<char>& output() noexcept { return out_; }

 private:
  friend struct bio_access;
  boost::system::error_code failure_of(int result);

  SSL* ssl_ = nullptr;
  bool started_ = false;  // the role is set by the first handshake()
  std::vector<char> in_;  // [in_begin_, in_end_) not yet given to OpenSSL
  std::size_t in_begin_ = 0, in_end_ = 0;
  std::vector<char> out_;
  boost::system::error_code deferred_;  // see read()
};

}  // namespace libchan::detail::io::tls
