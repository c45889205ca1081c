// TLS contexts, name checks and errors in words, on OpenSSL.
#include "transports/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/errors.hpp"
#include "libchan/error.hpp"
#include "libchan/session.hpp"

// Asio's SSL part, compiled once for libchan_net beside asio_impl.cpp (with
// BOOST_ASIO_SEPARATE_COMPILATION the headers only declare it).
#include <boost/asio/ssl/impl/src.hpp>

namespace libchan::detail::io::tls {
namespace {

namespace ssl = boost::asio::ssl;

// PEM files are small; the bound keeps a wrong path (a device, a huge
// file) from eating memory.
constexpr std::streamsize max_pem_file = 16 << 20;

failure invalid(std::string what) {
  return {make_error_code(errc::invalid_argument), "tls: " + std::move(what)};
}

struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct x509_deleter {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

// One PEM item of the options: where it came from (for messages) and its text.
struct pem_item {
  std::string origin;  // "certificate file 'x'" or "certificate PEM text"
  std::string text;
  bool given() const { return !origin.empty(); }
};

bool load_pem(const char* what, const std::string& file, const std::string& pem, pem_item& out,
              failure& err) {
  if (!file.empty() && !pem.empty()) {
    err = invalid(std::string("set either the ") + what + " file or its PEM text, not both");
    return false;
  }
  if (!pem.empty()) {
    out = {std::string(what) + " PEM text", pem};
    return true;
  }
  if (file.empty()) return true;
  out.origin = std::string(what) + " file '" + file + "'";
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    err = invalid("cannot read " + out.origin + ": " + std::strerror(errno));
    return false;
  }
  out.text.assign(std::istreambuf_iterator<char>(in), {});
  if (in.bad() || static_cast<std::streamsize>(out.text.size()) > max_pem_file) {
    err = invalid("cannot read " + out.origin + ": " +
                  (in.bad() ? std::string(std::strerror(errno)) : "larger than 16 MiB"));
    return false;
  }
  return true;
}

// The subjects of the CA certificates, sent to clients so that they pick a
// certificate the server will accept.
STACK_OF(X509_NAME) * ca_names(const std::string& pem) {
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (names && bio) {
    x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert.get())))
      if (!sk_X509_NAME_push(names, name)) X509_NAME_free(name);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return names;
}

std::string reason_of(const boost::system::error_code& ec) {
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return r;
  }
  return ec.message();
}

bool is_certificate_alert(int reason) {
  switch (reason) {
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
      return true;
    default:
      return false;
  }
}

bool is_not_tls(int reason) {
  switch (reason) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_UNEXPECTED_MESSAGE:
    case SSL_R_UNEXPECTED_RECORD:
      return true;
    default:
      return false;
  }
}

}  // namespace

context_ptr make_context(const TlsOptions& options, side s, failure& err) {
  pem_item cert, key, ca;
  if (!load_pem("certificate", options.certificate_file, options.certificate_pem, cert, err) ||
      !load_pem("private key", options.private_key_file, options.private_key_pem, key, err) ||
      !load_pem("CA", options.ca_file, options.ca_pem, ca, err))
    return nullptr;
  if (s == side::server && (!cert.given() || !key.given())) {
    err = invalid(
        "a listener needs certificate and private key (TlsOptions certificate_file or "
        "certificate_pem, and private_key_file or private_key_pem)");
    return nullptr;
  }
  if (cert.given() != key.given()) {
    err = invalid(cert.given() ? "a certificate needs its private key as well"
                               : "a private key needs its certificate as well");
    return nullptr;
  }

  auto ctx = std::make_shared<ssl::context>(s == side::client ? ssl::context::tls_client
                                                              : ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(
      native, options.min_version == TlsOptions::Version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  // Renegotiation would let the peer start a handshake under a read or write.
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // An encrypted key would make OpenSSL ask for a password on the terminal.
  ctx->set_password_callback([](std::size_t, ssl::context::password_purpose) { return ""; });

  boost::system::error_code ec;
  if (cert.given()) {
    ctx->use_certificate_chain(boost::asio::buffer(cert.text), ec);
    if (ec) {
      err = invalid("cannot load the " + cert.origin + ": " + reason_of(ec));
      return nullptr;
    }
    ctx->use_private_key(boost::asio::buffer(key.text), ssl::context::pem, ec);
    const auto code = static_cast<unsigned long>(ec.value());
    if (ec && ec.category() == boost::asio::error::get_ssl_category() &&
        ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
      err = invalid("the " + key.origin + " does not belong to the " + cert.origin);
      return nullptr;
    }
    if (ec) {
      err = invalid("cannot load the " + key.origin +
                    " (unencrypted PEM expected): " + reason_of(ec));
      return nullptr;
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      ERR_clear_error();
      err = invalid("the " + key.origin + " does not belong to the " + cert.origin);
      return nullptr;
    }
  }
  if (ca.given()) {
    ctx->add_certificate_authority(boost::asio::buffer(ca.text), ec);
    if (ec) {
      err = invalid("cannot load the " + ca.origin + ": " + reason_of(ec));
      return nullptr;
    }
  } else if (s == side::client ? options.verify_peer : options.require_client_certificate) {
    // Only when something is verified: parsing the system's store takes
    // tens of milliseconds, for every listen() and dial().
    ctx->set_default_verify_paths(ec);
    if (ec) {
      err = invalid("cannot load the system's trusted certificates: " + reason_of(ec));
      return nullptr;
    }
  }

  if (s == side::client) {
    ctx->set_verify_mode(options.verify_peer ? ssl::verify_peer : ssl::verify_none);
  } else if (options.require_client_certificate) {
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    if (ca.given()) SSL_CTX_set_client_CA_list(native, ca_names(ca.text));
    // Sessions resumed under client authentication need an id context.
    static const unsigned char id[] = "libchan";
    SSL_CTX_set_session_id_context(native, id, sizeof id - 1);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

failure prepare_client(SSL* ssl, const TlsOptions& options, const std::string& host) {
  const std::string& name = options.server_name.empty() ? host : options.server_name;
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(name, not_ip);
  // SNI carries host names only (RFC 6066).
  if (not_ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    ERR_clear_error();
    return invalid("cannot send the server name '" + name + "'");
  }
  if (!options.verify_peer) return {};
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  int ok = not_ip ? X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size())
                  : X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  if (ok != 1) {
    ERR_clear_error();
    return invalid("cannot check the server's certificate against the name '" + name + "'");
  }
  return {};
}

std::string peer_identity(const SSL* ssl) {
  if (!ssl || SSL_get_verify_result(ssl) != X509_V_OK) return {};
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  X509* cert = SSL_get0_peer_certificate(ssl);
  x509_ptr hold;
#else
  x509_ptr hold(SSL_get_peer_certificate(ssl));
  X509* cert = hold.get();
#endif
  if (!cert) return {};
  bio_ptr out(BIO_new(BIO_s_mem()));
  if (!out) return {};
  // RFC 2253 order and separators, with UTF-8 kept as it is.
  const unsigned long flags = (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT;
  if (X509_NAME_print_ex(out.get(), X509_get_subject_name(cert), 0, flags) < 0) return {};
  char* data = nullptr;
  long n = BIO_get_mem_data(out.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

failure handshake_failure(const boost::system::error_code& ec, const SSL* ssl,
                          const std::string& peer_url, bool timed_out) {
  const std::string head = "tls handshake with " + peer_url;
  if (timed_out) return {make_error_code(errc::timed_out), head + " timed out"};
  if (ec == ssl::error::stream_truncated || ec == boost::asio::error::eof)
    return {make_error_code(errc::disconnected),
            head + " failed: the peer closed the connection during the handshake"};
  if (ec.category() != boost::asio::error::get_ssl_category())
    return {to_std(ec), head + " failed: " + ec.message()};

  const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  std::string what = head + " failed: " + reason_of(ec);
  errc code = errc::protocol_error;
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    code = errc::auth_failed;
    long result = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (result != X509_V_OK) {
      what += std::string(" (") + X509_verify_cert_error_string(result);
      if (result == X509_V_ERR_HOSTNAME_MISMATCH) {
        if (const char* name =
                X509_VERIFY_PARAM_get0_host(SSL_get0_param(const_cast<SSL*>(ssl)), 0))
          what += std::string(": the certificate is not for '") + name + "'";
      }
      what += ")";
    }
  } else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    code = errc::auth_failed;
    what += " (a client certificate is required)";
  } else if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED) {
    code = errc::auth_failed;
    what += " (the peer requires a certificate: set TlsOptions certificate and private key)";
  } else if (is_certificate_alert(reason)) {
    code = errc::auth_failed;
    what += " (the peer refused our certificate)";
  } else if (is_not_tls(reason)) {
    what += " (is the peer speaking TLS?)";
  } else if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION) {
    what += " (no TLS version both sides accept)";
  }
  return {make_error_code(code), std::move(what)};
}

std::error_code io_error(const boost::system::error_code& ec) {
  if (ec == ssl::error::stream_truncated) return to_std(boost::asio::error::eof);
  return to_std(ec);
}

}  // namespace libchan::detail::io::tls
