// Two chancat processes talking to each other, as a user would run them.
#include <gtest/gtest.h>

#include "tools/chancat_support.hpp"

namespace {

using namespace chancat_test;

TEST(ChancatPair, ListenPrintsTheJsonLinesDialSends) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"));
  std::string input =
      R"({"op":"ls","args":["-l"],"n":-3,"big":18446744073709551615})"
      "\n"
      R"({"t":{"$time":"2026-01-02T03:04:05Z"},"b":{"$bin":"AAEC/w=="},"f":1.5,"nan":{"$float":"NaN"}})"
      "\n"
      "\n"  // blank lines are skipped
      R"({"$map":[[1,"one"],[true,null]]})"
      "\n"
      R"("just a string")";  // the last line needs no line break
  auto dial = chancat({"dial", listener.address()}, input);
  EXPECT_EQ(dial.exit_code, 0) << dial.err;
  EXPECT_EQ(dial.out, "");
  EXPECT_EQ(dial.err, "");

  auto listen = listener.wait();
  EXPECT_EQ(listen.exit_code, 0) << listen.err;
  EXPECT_TRUE(error_lines(listen.err).empty()) << listen.err;
  EXPECT_EQ(
      lines(listen.out),
      (std::vector<std::string>{
          R"({"op":"ls","args":["-l"],"n":-3,"big":18446744073709551615})",
          R"({"t":{"$time":"2026-01-02T03:04:05.000000000Z"},"b":{"$bin":"AAEC/w=="},"f":1.5,"nan":{"$float":"NaN"}})",
          R"({"$map":[[1,"one"],[true,null]]})",
          R"("just a string")",
      }));
}

TEST(ChancatPair, DialReceivesWhatListenSends) {
  Listening listener("tcp://127.0.0.1:0",
                     {"--send", "--data", R"({"seq":1})", "--data", R"({"seq":2})"});
  auto dial = chancat({"dial", "--recv", listener.address()});
  EXPECT_EQ(dial.exit_code, 0) << dial.err;
  EXPECT_EQ(dial.err, "");
  EXPECT_EQ(lines(dial.out), (std::vector<std::string>{R"({"seq":1})", R"({"seq":2})"}));
  auto listen = listener.wait();
  EXPECT_EQ(listen.exit_code, 0) << listen.err;
  EXPECT_EQ(listen.out, "");
}

TEST(ChancatPair, RequestsComeBackFromAnEchoingListener) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"), {"--echo"});
  auto dial = chancat({"dial", "--request", "--data", R"({"text":"hi"})", "--data",
                       R"({"text":"again","n":2})", listener.address()});
  EXPECT_EQ(dial.exit_code, 0) << dial.err;
  EXPECT_EQ(dial.err, "");
  // The echo is the request without its reply channel.
  EXPECT_EQ(lines(dial.out),
            (std::vector<std::string>{R"({"text":"hi"})", R"({"text":"again","n":2})"}));
  auto listen = listener.wait();
  EXPECT_EQ(listen.exit_code, 0) << listen.err;
  EXPECT_EQ(lines(listen.out),
            (std::vector<std::string>{R"({"text":"hi","ret":{"$chan":1,"dir":"send"}})",
                                      R"({"text":"again","n":2,"ret":{"$chan":2,"dir":"send"}})"}));
}

TEST(ChancatPair, ReplyKeyAndAFixedReply) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"),
                     {"--reply", R"({"status":0})", "--reply-key", "StatusChan"});
  auto dial = chancat({"dial", "--request", "--reply-key", "StatusChan", "--data",
                       R"({"cmd":"ls"})", "--data", R"({"cmd":"pwd"})", listener.address()});
  EXPECT_EQ(dial.exit_code, 0) << dial.err;
  EXPECT_EQ(lines(dial.out), (std::vector<std::string>{R"({"status":0})", R"({"status":0})"}));
  auto listen = listener.wait();
  EXPECT_EQ(listen.exit_code, 0) << listen.err;
  EXPECT_EQ(lines(listen.out),
            (std::vector<std::string>{R"({"cmd":"ls","StatusChan":{"$chan":1,"dir":"send"}})",
                                      R"({"cmd":"pwd","StatusChan":{"$chan":2,"dir":"send"}})"}));
}

TEST(ChancatPair, ManyLinesAllArrive) {
  // The sender waits for the receiver to end the session: nothing queued is
  // cut off when it exits.
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"));
  std::string input;
  const int n = 20000;
  for (int i = 0; i < n; ++i)
    input += R"({"seq":)" + std::to_string(i) + R"(,"pad":")" + std::string(100, 'x') + "\"}\n";
  auto dial = chancat({"dial", listener.address()}, input, 20s);
  EXPECT_EQ(dial.exit_code, 0) << dial.err;
  auto listen = listener.wait(20s);
  EXPECT_EQ(listen.exit_code, 0) << listen.err;
  auto got = lines(listen.out);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(got.back(),
            R"({"seq":)" + std::to_string(n - 1) + R"(,"pad":")" + std::string(100, 'x') + "\"}");
}

}  // namespace
