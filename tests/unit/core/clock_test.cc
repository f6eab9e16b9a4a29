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

// A file time or a date from outside can lie centuries away; it is held to what SystemTime can
// hold instead of overflowing into some other time.
TEST(ClockTest, FarTimesAreHeldToTheRangeSystemTimeCanHold) {
  EXPECT_EQ(system_time_at(1'440'938'160, 7'000'000), SystemTime{1'440'938'160s + 7ms});
  EXPECT_EQ(system_time_at(-86'400), SystemTime{-86'400s});  // 1969-12-31
  const SystemTime latest = system_time_at(INT64_MAX, 999'999'999);
  const SystemTime earliest = system_time_at(INT64_MIN);
  EXPECT_EQ(system_time_at(16'725'225'600), latest);     // the year 2500
  EXPECT_EQ(system_time_at(-30'171'587'400), earliest);  // the year 1013
  EXPECT_GT(latest, SystemTime{253'402'300'799s / 40});
  EXPECT_LT(earliest, SystemTime{-253'402'300'799s / 40});
  EXPECT_EQ(format_http_date(latest).substr(12, 4), "2262");
  EXPECT_EQ(format_http_date(earliest).substr(12, 4), "1677");
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
