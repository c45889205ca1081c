// Bad usage and failures: one clear line on stderr, the documented exit
// code (docs/chancat.md).
#include <gtest/gtest.h>

#include "tools/chancat_support.hpp"

namespace {

using namespace chancat_test;

constexpr int usage = 1, connection = 2, data = 4;

TEST(ChancatErrors, HelpDescribesTheModel) {
  auto r = chancat({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Usage: chancat [OPTIONS] dial|listen URL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  EXPECT_EQ(r.err, "");
}

TEST(ChancatErrors, UsageMistakes) {
  expect_one_error_line(chancat({}), usage, "dial URL or listen URL");
  expect_one_error_line(chancat({"dial"}), usage, "URL");
  expect_one_error_line(chancat({"dial", "--send", "--recv", "tcp://127.0.0.1:1"}), usage,
                        "--send and --recv");
  expect_one_error_line(chancat({"dial", "--no-such-option", "tcp://127.0.0.1:1"}), usage,
                        "--no-such-option");
  expect_one_error_line(chancat({"dial", "--timeout", "soon", "tcp://127.0.0.1:1"}), usage,
                        "--timeout");
  expect_one_error_line(chancat({"listen", "--data", "{}", "tcp://127.0.0.1:0"}), usage, "--send");
}

TEST(ChancatErrors, UnknownScheme) {
  auto r = chancat({"dial", "carrier-pigeon://loft:1"});
  expect_one_error_line(r, usage, "unsupported scheme 'carrier-pigeon'");
}

TEST(ChancatErrors, MissingCertificateFile) {
  net_test::temp_dir dir;
  auto r = chancat({"listen", "--cert", dir.file("missing.pem"), "--key", dir.file("key.pem"),
                    "tls://127.0.0.1:0"});
  expect_one_error_line(r, usage, "--cert: cannot read '" + dir.file("missing.pem") + "'");
}

TEST(ChancatErrors, NothingListening) {
  std::string url;
  {
    auto l = libchan::listen("tcp://127.0.0.1:0");
    url = l.local_address();
  }  // closed: the port refuses connections now
  auto r = chancat({"dial", "--data", "{}", url});
  expect_one_error_line(r, connection, "dial " + url);
}

TEST(ChancatErrors, UnknownHost) {
  auto r = chancat({"dial", "--data", "{}", "tcp://no-such-host.invalid:9323"});
  expect_one_error_line(r, connection, "no-such-host.invalid");
}

TEST(ChancatErrors, BadJsonOnStdin) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  tool_test::Process dial(chancat_path, {"dial", l.local_address()});
  dial.feed("{\"ok\":1}\n{bad\n");
  std::error_code ec;
  auto session = l.accept_for(10s, ec);
  ASSERT_TRUE(session) << ec.message();
  auto r = dial.wait(10s);
  expect_one_error_line(r, data, "stdin line 2");
}

TEST(ChancatErrors, BadJsonInOptions) {
  // Found before any connection is tried.
  expect_one_error_line(chancat({"dial", "--data", "{}", "--data", "[1,", "tcp://127.0.0.1:1"}),
                        usage, "--data 2");
  expect_one_error_line(chancat({"listen", "--reply", "{\"$nope\":1}", "tcp://127.0.0.1:0"}), usage,
                        "--reply");
}

}  // namespace
