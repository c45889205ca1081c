// chancat over tls://: --cert/--key/--ca, verification on by default,
// --insecure, and client certificates with --require-client-cert.
#include <gtest/gtest.h>

#include "support/test_certs.hpp"
#include "tools/chancat_support.hpp"

namespace {

using namespace chancat_test;

constexpr int connection = 2;

TEST(ChancatTls, DialVerifiesTheServerAgainstTheGivenCa) {
  test_certs::pki_files pki;
  Listening listener("tls://127.0.0.1:0",
                     {"--cert", pki.server_certificate, "--key", pki.server_key});
  // The system's CAs do not know ours: refused, in one line.
  auto untrusted = chancat({"dial", "--data", "{}", listener.address()});
  expect_one_error_line(untrusted, connection, listener.address());

  auto trusted =
      chancat({"dial", "--ca", pki.ca, "--data", R"({"over":"tls"})", listener.address()});
  EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
  EXPECT_EQ(trusted.err, "");
  auto r = listener.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{R"({"over":"tls"})"}));
}

TEST(ChancatTls, InsecureSkipsVerification) {
  test_certs::pki_files pki;
  Listening listener("tls://127.0.0.1:0",
                     {"--cert", pki.server_certificate, "--key", pki.server_key});
  auto dial = chancat({"dial", "--insecure", "--data", "1", listener.address()});
  EXPECT_EQ(dial.exit_code, 0) << dial.err;
  auto r = listener.wait();
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{"1"}));
}

TEST(ChancatTls, RequiredClientCertificate) {
  test_certs::pki_files pki;
  Listening listener("tls://127.0.0.1:0",
                     {"--cert", pki.server_certificate, "--key", pki.server_key, "--ca", pki.ca,
                      "--require-client-cert"});
  auto anonymous = chancat({"dial", "--ca", pki.ca, "--data", "{}", listener.address()});
  EXPECT_EQ(anonymous.exit_code, connection) << anonymous.err;
  auto known = chancat({"dial", "--ca", pki.ca, "--cert", pki.client_certificate, "--key",
                        pki.client_key, "--data", R"({"from":"client-1"})", listener.address()});
  EXPECT_EQ(known.exit_code, 0) << known.err;
  auto r = listener.wait();
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{R"({"from":"client-1"})"}));
}

}  // namespace
