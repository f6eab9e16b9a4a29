// Clock formats and the manual clock tests rely on.
#include "efsas/clock.h"

#include <gtest/gtest.h>

namespace efsas {
namespace {

using namespace std::chrono_literals;

TEST(ClockTest, FormatsAwsAndHttpDates) {
  const SystemTime t{std::chrono::seconds{1440938160}};  // 2015-08-30T12:36:00Z
  EXPECT_EQ(format_amz_date(t), "20150830T123600Z");
  EXPECT_EQ(format_iso8601_ms(t + 7ms), "2015-08-30T12:36:00.007Z");
  EXPECT_EQ(format_http_date(t), "Sun, 30 Aug 2015 12:36:00 GMT");
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock;
  const auto wall = clock.now();
  const auto mono = clock.steady_now();
  clock.sleep_for(250ms);
  clock.advance(1s);
  EXPECT_EQ(clock.now() - wall, 1250ms);
  EXPECT_EQ(clock.steady_now() - mono, 1250ms);
  EXPECT_EQ(clock.total_slept(), 250ms);
}

}  // namespace
}  // namespace efsas
