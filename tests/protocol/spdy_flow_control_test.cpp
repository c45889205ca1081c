// Flow-control window arithmetic.
#include <gtest/gtest.h>

#include "spdy/flow_control.hpp"

namespace {

using namespace libchan::detail::spdy;

TEST(SpdySendWindow, ConsumeAndGrow) {
  send_window w;
  EXPECT_EQ(w.size(), 65536);
  w.consume(65000);
  EXPECT_EQ(w.available(), 536u);
  EXPECT_THROW(w.consume(537), libchan::Error);
  w.consume(536);
  EXPECT_EQ(w.available(), 0u);
  EXPECT_TRUE(w.grow(1000));
  EXPECT_EQ(w.available(), 1000u);
}

TEST(SpdySendWindow, GrowBeyondTheMaximumIsRefused) {
  send_window w(0x7FFFFFFF - 10);
  EXPECT_TRUE(w.grow(10));
  EXPECT_EQ(w.size(), 0x7FFFFFFF);
  EXPECT_FALSE(w.grow(1));
  EXPECT_EQ(w.size(), 0x7FFFFFFF) << "a refused update changes nothing";
}

TEST(SpdySendWindow, InitialWindowChangesMayGoNegative) {
  send_window w;  // 64 KiB
  w.consume(60000);
  ASSERT_TRUE(w.apply_initial_change(65536, 1024));
  EXPECT_EQ(w.size(), 5536 - 64512);
  EXPECT_LT(w.size(), 0);
  EXPECT_EQ(w.available(), 0u);
  EXPECT_THROW(w.consume(1), libchan::Error);
  EXPECT_TRUE(w.grow(60000));
  EXPECT_EQ(w.available(), static_cast<std::uint32_t>(5536 - 64512 + 60000));
  ASSERT_TRUE(w.apply_initial_change(1024, 65536));
  EXPECT_EQ(w.size(), 5536 + 60000);

  send_window near_max(0x7FFFFFFF - 100);
  EXPECT_FALSE(near_max.apply_initial_change(65536, 65536 + 101));
  EXPECT_EQ(near_max.size(), 0x7FFFFFFF - 100);
}

TEST(SpdyReceiveWindow, OverrunIsDetected) {
  receive_window w(1000);
  EXPECT_TRUE(w.receive(600));
  EXPECT_TRUE(w.receive(400));
  EXPECT_EQ(w.available(), 0);
  EXPECT_FALSE(w.receive(1)) << "FLOW_CONTROL_ERROR";
  EXPECT_EQ(w.buffered(), 1000u);
}

TEST(SpdyReceiveWindow, UpdateOnceHalfTheWindowWasConsumed) {
  receive_window w;  // 64 KiB
  ASSERT_TRUE(w.receive(40000));
  EXPECT_EQ(w.take_update(), 0u) << "received but not consumed: no update";
  w.consume(30000);
  EXPECT_EQ(w.take_update(), 0u) << "below half the window";
  w.consume(2768);
  EXPECT_EQ(w.unannounced(), 32768u);
  EXPECT_EQ(w.take_update(), 32768u);
  EXPECT_EQ(w.take_update(), 0u) << "already announced";
  EXPECT_EQ(w.available(), 65536 - 40000 + 32768);
  EXPECT_THROW(w.consume(7233), libchan::Error) << "only 7232 bytes are buffered";
}

TEST(SpdyReceiveWindow, ShrinkingGoesNegativeAndUpdatesStayBelowTheMaximum) {
  receive_window w(1000);
  ASSERT_TRUE(w.receive(900));
  w.resize(100);
  EXPECT_EQ(w.available(), 100 - 900);
  EXPECT_FALSE(w.receive(1));
  w.consume(900);
  EXPECT_EQ(w.take_update(), 900u);
  EXPECT_EQ(w.available(), 100);
  EXPECT_THROW(w.resize(-1), libchan::Error);

  receive_window huge(0x7FFFFFFF);
  ASSERT_TRUE(huge.receive(0x40000000));
  huge.consume(0x40000000);
  EXPECT_EQ(huge.take_update(), 0x40000000u);
  EXPECT_EQ(huge.available(), 0x7FFFFFFF);
}

TEST(SpdyFlowControl, InitialWindowSettingRange) {
  EXPECT_FALSE(check_initial_window_setting(0x7FFFFFFF));
  auto err = check_initial_window_setting(0x80000000u);
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->fatal());
}

}  // namespace
