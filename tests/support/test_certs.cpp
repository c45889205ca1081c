// Test certificates with OpenSSL's C API.
#include "support/test_certs.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <fstream>
#include <memory>
#include <stdexcept>

namespace test_certs {
namespace {

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "no reason given";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error("test_certs: " + what + ": " + reason);
}

void check(int ok, const char* what) {
  if (ok <= 0) fail(what);
}

key_ptr new_key() {
  key_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("EC key generation");
  return key;
}

std::string pem_of(const X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_X509(bio.get(), cert), "writing a certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

std::string pem_of(const EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  check(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "writing a private key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

x509_ptr read_certificate(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  x509_ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) fail("reading the issuer's certificate");
  return cert;
}

key_ptr read_key(const std::string& pem) {
  bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  key_ptr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) fail("reading the issuer's key");
  return key;
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (!ext) fail("extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok, "adding an extension");
}

// A certificate for `key` named by `spec`, signed by `issuer_key` as
// `issuer` (null: self-signed).
x509_ptr make_certificate(const cert_spec& spec, bool is_ca, EVP_PKEY* key, X509* issuer,
                          EVP_PKEY* issuer_key) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), 2), "version");  // v3
  // A random 64-bit serial: certificates of one issuer must differ.
  std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>> serial(BN_new());
  check(serial && BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "serial");
  check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr, "serial");
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before.count()) != nullptr,
        "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after.count()) != nullptr,
        "notAfter");

  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add_name = [&](const char* field, const std::string& value) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                     0),
          "subject name");
  };
  if (!spec.organization.empty()) add_name("O", spec.organization);
  add_name("CN", spec.common_name);
  check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name),
        "issuer name");
  check(X509_set_pubkey(cert.get(), key), "public key");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), &ctx, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  add_extension(cert.get(), &ctx, NID_key_usage,
                is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (issuer) add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  std::string usage;
  if (spec.server_auth) usage = "serverAuth";
  if (spec.client_auth) usage += usage.empty() ? "clientAuth" : ",clientAuth";
  if (!usage.empty()) add_extension(cert.get(), &ctx, NID_ext_key_usage, usage);
  std::string alt;
  for (auto& dns : spec.dns_names) alt += (alt.empty() ? "DNS:" : ",DNS:") + dns;
  for (auto& ip : spec.ip_addresses) alt += (alt.empty() ? "IP:" : ",IP:") + ip;
  if (!alt.empty()) add_extension(cert.get(), &ctx, NID_subject_alt_name, alt);

  check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()), "signing");
  return cert;
}

}  // namespace

identity make_ca(const std::string& common_name) {
  cert_spec spec;
  spec.common_name = common_name;
  spec.not_after = std::chrono::hours(24 * 365);
  auto key = new_key();
  auto cert = make_certificate(spec, true, key.get(), nullptr, nullptr);
  return {pem_of(cert.get()), pem_of(key.get())};
}

identity issue(const identity& issuer, const cert_spec& spec) {
  auto issuer_cert = read_certificate(issuer.certificate);
  auto issuer_key = read_key(issuer.private_key);
  auto key = new_key();
  auto cert = make_certificate(spec, false, key.get(), issuer_cert.get(), issuer_key.get());
  return {pem_of(cert.get()), pem_of(key.get())};
}

const test_pki& pki() {
  static const test_pki made = [] {
    test_pki p;
    p.ca = make_ca("libchan test CA");
    p.other_ca = make_ca("libchan other CA");
    cert_spec server;
    server.common_name = "localhost";
    server.dns_names = {"localhost"};
    server.ip_addresses = {"127.0.0.1", "::1"};
    server.server_auth = true;
    p.server = issue(p.ca, server);
    cert_spec client;
    client.common_name = "client-1";
    client.client_auth = true;
    p.client = issue(p.ca, client);
    cert_spec expired = server;
    expired.not_before = std::chrono::hours(-48);
    expired.not_after = std::chrono::hours(-24);
    p.expired_server = issue(p.ca, expired);
    return p;
  }();
  return made;
}

pki_files::pki_files() {
  std::string pattern = (std::filesystem::temp_directory_path() / "libchan-certs-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("test_certs: mkdtemp failed");
  dir = pattern;
  const auto& p = pki();
  ca = write("ca.pem", p.ca.certificate);
  other_ca = write("other-ca.pem", p.other_ca.certificate);
  server_certificate = write("server.pem", p.server.certificate);
  server_key = write("server-key.pem", p.server.private_key);
  client_certificate = write("client.pem", p.client.certificate);
  client_key = write("client-key.pem", p.client.private_key);
  expired_certificate = write("expired.pem", p.expired_server.certificate);
  expired_key = write("expired-key.pem", p.expired_server.private_key);
}

pki_files::~pki_files() {
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

std::string pki_files::write(const std::string& name, const std::string& text) const {
  auto path = (dir / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("test_certs: cannot write " + path);
  return path;
}

}  // namespace test_certs
