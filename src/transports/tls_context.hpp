// TLS building blocks shared by the transports that speak TLS (tls://,
// wss://): contexts from TlsOptions, client name checks, the peer's
// identity, and handshake errors in words. Works on the SSL* of any
// boost::asio::ssl::stream, whatever its lower layer.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>
#include <system_error>

#include "io/transport.hpp"

namespace libchan {
struct TlsOptions;
}

namespace libchan::detail::io::tls {

enum class side { client, server };

/// Shared by every stream made from it (an ssl::stream keeps a reference to
/// its context, so each connection holds one of these).
using context_ptr = std::shared_ptr<boost::asio::ssl::context>;

/// Builds a context for one side from `options`: our certificate chain and
/// key (file or PEM text), trusted CAs (file or PEM text; the system's store
/// when neither is given), the minimum version (1.3 is preferred when both
/// sides can). A client verifies the server unless `verify_peer` is off; a
/// server needs a certificate and key, and with `require_client_certificate`
/// asks every client for one signed by a trusted CA and refuses the
/// handshake without it. Returns null and sets `err` (errc::invalid_argument,
/// naming the option and the file) on failure. Any thread.
context_ptr make_context(const TlsOptions& options, side s, failure& err);

/// Before a client handshake on `ssl`: sends SNI (DNS names only) and makes
/// verification check the server's certificate against `options.server_name`,
/// or else `host` (the URL's host, without brackets; an IP literal is checked
/// against the certificate's IP addresses). Nothing is checked when
/// `options.verify_peer` is off. Returns a failure when OpenSSL refuses the
/// name.
failure prepare_client(SSL* ssl, const TlsOptions& options, const std::string& host);

/// The subject of the peer's certificate if it was verified, one line in
/// RFC 2253 form ("CN=client-1,O=Example"); empty if the peer sent none or it
/// was not verified. Call after the handshake.
std::string peer_identity(const SSL* ssl);

/// A failed handshake (or a read right after it) in words: "tls handshake
/// with tls://127.0.0.1:443 failed: certificate verify failed (hostname
/// mismatch)". The code is errc::auth_failed when the cause is a
/// certificate (ours refused by the peer, or the peer's by us: unknown CA,
/// expired, wrong name, none sent), errc::protocol_error for other TLS
/// failures (not TLS at all, no common version), errc::disconnected when
/// the peer closed during the handshake, and errc::timed_out when `timed_out`.
failure handshake_failure(const boost::system::error_code& ec, const SSL* ssl,
                          const std::string& peer_url, bool timed_out = false);

/// An error of a read or write after the handshake as a std::error_code.
/// A peer that closed without close_notify (boost::asio::ssl::error::
/// stream_truncated) reads as a plain end of stream, like TCP: returns
/// boost::asio::error::eof then. TLS failures keep Asio's ssl category, whose
/// message is OpenSSL's reason; system errors keep their number.
std::error_code io_error(const boost::system::error_code& ec);

}  // namespace libchan::detail::io::tls
