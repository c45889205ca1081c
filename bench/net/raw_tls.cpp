// The raw TLS bound for bulk transfer: OpenSSL's SSL_write/SSL_read over a
// blocking TCP socket, TLS 1.3, the library's default cipher choice.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include "harness.hpp"
#include "raw_socket.hpp"

namespace netbench::raw {
namespace {

constexpr std::size_t chunk_size = 256u << 10;

struct ssl_free_ctx {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct ssl_free {
  void operator()(SSL* s) const { SSL_free(s); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ssl_free_ctx>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

std::string openssl_error(std::string_view what) {
  char buf[256] = "unknown error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  return std::string(what) + ": " + buf;
}

ctx_ptr make_context(const Options& o, bool server) {
  ctx_ptr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  const char* side = server ? "server" : "client";
  if (!ctx) fail(o, side, openssl_error("SSL_CTX_new"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  // Read whole socket buffers rather than one record header at a time.
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  if (server) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), o.key.c_str(), SSL_FILETYPE_PEM) != 1)
      fail(o, side, openssl_error("loading --cert/--key"));
  } else {
    // A client certificate is presented if given; the server does not ask for one.
    if (!o.cert.empty() &&
        (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert.c_str()) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx.get(), o.key.c_str(), SSL_FILETYPE_PEM) != 1))
      fail(o, side, openssl_error("loading --cert/--key"));
    if (SSL_CTX_load_verify_locations(ctx.get(), o.ca.c_str(), nullptr) != 1)
      fail(o, side, openssl_error("loading --ca"));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  return ctx;
}

void server(const Options& o) {
  if (o.cert.empty() || o.key.empty()) fail(o, "server", "tls needs --cert and --key");
  auto ctx = make_context(o, true);
  Socket listener = listen_and_announce(o, "tcp");
  Socket c = accept_one(o, listener, "tcp");
  ssl_ptr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), c.get());
  if (SSL_accept(ssl.get()) != 1) fail(o, "server", openssl_error("TLS handshake"));

  std::vector<std::uint8_t> buf(chunk_size);
  receive_bulk(o, "server", [&] {
    int n = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()));
    if (n <= 0) fail(o, "server", openssl_error("SSL_read"));
    return n;
  });
  std::uint8_t ack = 1;
  if (SSL_write(ssl.get(), &ack, 1) != 1) fail(o, "server", openssl_error("SSL_write ack"));
  SSL_shutdown(ssl.get());
  print_peak_rss(o, "server");
}

void client(const Options& o) {
  if (o.ca.empty()) fail(o, "client", "tls needs --ca");
  auto ctx = make_context(o, false);
  Socket c = connect_to(o, "tcp");
  ssl_ptr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), c.get());
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  SSL_set1_host(ssl.get(), "localhost");
  if (SSL_connect(ssl.get()) != 1) fail(o, "client", openssl_error("TLS handshake"));

  send_bulk(o, chunk_size, [&](auto piece) {
    auto n = static_cast<int>(piece.size());
    if (SSL_write(ssl.get(), piece.data(), n) != n) fail(o, "client", openssl_error("SSL_write"));
  });
  std::uint8_t ack = 0;
  if (SSL_read(ssl.get(), &ack, 1) != 1) fail(o, "client", openssl_error("SSL_read ack"));
  print_peak_rss(o, "client");
}

}  // namespace

void tls_bulk(const Options& o) {
  if (o.role == Role::server) return server(o);
  if (o.role == Role::client) return client(o);
  fail(o, "server", "raw tls runs as two processes: --role server or client");
}

}  // namespace netbench::raw
