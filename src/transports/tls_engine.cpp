#include "transports/tls_engine.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cstring>

namespace libchan::detail::io::tls {

// One BIO serves both directions: OpenSSL reads records straight from the
// engine's input and writes them straight into its output, with no copy
// through a memory BIO or a BIO pair in between.
struct bio_access {
  static engine& of(BIO* bio) { return *static_cast<engine*>(BIO_get_data(bio)); }

  static int read(BIO* bio, char* out, int size) {
    BIO_clear_retry_flags(bio);
    engine& e = of(bio);
    std::size_t n = std::min<std::size_t>(e.in_end_ - e.in_begin_, static_cast<std::size_t>(size));
    if (n == 0) {
      BIO_set_retry_read(bio);  // not the end: the socket has not brought it yet
      return -1;
    }
    std::memcpy(out, e.in_.data() + e.in_begin_, n);
    e.in_begin_ += n;
    return static_cast<int>(n);
  }

  static int write(BIO* bio, const char* data, int size) {
    BIO_clear_retry_flags(bio);
    auto& out = of(bio).out_;
    out.insert(out.end(), data, data + size);
    return size;
  }

  static long control(BIO*, int command, long, void*) {
    return command == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is held back
  }

  static int create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static BIO_METHOD* method() {
    static BIO_METHOD* const m = [] {
      BIO_METHOD* made =
          BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "libchan tls engine");
      if (made) {
        BIO_meth_set_read(made, &bio_access::read);
        BIO_meth_set_write(made, &bio_access::write);
        BIO_meth_set_ctrl(made, &bio_access::control);
        BIO_meth_set_create(made, &bio_access::create);
      }
      return made;
    }();
    return m;
  }
};

engine::engine(SSL_CTX* ctx) {
  BIO_METHOD* method = bio_access::method();
  BIO* bio = method ? BIO_new(method) : nullptr;
  ssl_ = bio ? SSL_new(ctx) : nullptr;
  if (!ssl_) {
    if (bio) BIO_free(bio);
    ERR_clear_error();
    return;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one reference, owned by ssl_
}

engine::~engine() {
  if (ssl_) SSL_free(ssl_);
}

boost::system::error_code engine::failure_of(int result) {
  const int kind = SSL_get_error(ssl_, result);
  const unsigned long code = ERR_get_error();  // the first error: the cause
  ERR_clear_error();
  if (kind == SSL_ERROR_ZERO_RETURN) return boost::asio::error::eof;
  if (code) return {static_cast<int>(code), boost::asio::error::get_ssl_category()};
  if (kind == SSL_ERROR_SYSCALL) return boost::asio::ssl::error::unspecified_system_error;
  return boost::asio::ssl::error::unexpected_result;
}

engine::outcome engine::handshake(role r) {
  outcome o;
  if (!started_) {
    started_ = true;
    if (r == role::server)
      SSL_set_accept_state(ssl_);
    else
      SSL_set_connect_state(ssl_);
  }
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) return o;
  if (SSL_get_error(ssl_, result) == SSL_ERROR_WANT_READ) {
    o.want_input = true;
    return o;
  }
  o.ec = failure_of(result);
  return o;
}

bool engine::handshake_done() const { return SSL_is_init_finished(ssl_); }

engine::outcome engine::read(std::span<char> out) {
  outcome o;
  if (deferred_) {
    o.ec = deferred_;
    if (deferred_ == boost::asio::error::eof) deferred_ = {};  // OpenSSL says it again
    return o;
  }
  ERR_clear_error();  // SSL_get_error reads the queue; a success adds nothing to it
  while (o.bytes < out.size()) {
    std::size_t n = 0;
    const int result = SSL_read_ex(ssl_, out.data() + o.bytes, out.size() - o.bytes, &n);
    if (result == 1) {
      o.bytes += n;
      continue;
    }
    if (SSL_get_error(ssl_, result) == SSL_ERROR_WANT_READ) {
      o.want_input = o.bytes == 0;
      break;
    }
    auto ec = failure_of(result);
    if (o.bytes == 0)
      o.ec = ec;
    else
      deferred_ = ec;
    break;
  }
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  return o;
}

engine::outcome engine::write(std::span<const char> data) {
  outcome o;
  ERR_clear_error();
  while (o.bytes < data.size()) {
    std::size_t n = 0;
    const int result = SSL_write_ex(ssl_, data.data() + o.bytes, data.size() - o.bytes, &n);
    if (result != 1) {
      o.ec = failure_of(result);
      break;
    }
    o.bytes += n;
  }
  return o;
}

void engine::close_notify() {
  if (!SSL_is_init_finished(ssl_) || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN)) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify; does not wait for the peer's
  ERR_clear_error();
}

std::span<char> engine::input_space(std::size_t min) {
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  if (in_.size() - in_end_ < min && in_begin_ > 0) {
    // A partial record stays; it moves to the front (at most one record).
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_.size() - in_end_ < min) in_.resize(in_end_ + min);
  return {in_.data() + in_end_, in_.size() - in_end_};
}

}  // namespace libchan::detail::io::tls
