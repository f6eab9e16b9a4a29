// The project's date formats against the C library's strftime over random instants.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <ctime>
#include <string>

#include "efsas/clock.h"

namespace efsas {
namespace {

std::string reference(std::int64_t seconds, const char* pattern) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm parts{};
  gmtime_r(&t, &parts);
  char buffer[64];
  return std::string(buffer, std::strftime(buffer, sizeof buffer, pattern, &parts));
}

// Years 1900 to 2199: SystemTime counts nanoseconds in 64 bits, which reach 1677 to 2262.
constexpr std::int64_t kFirst = -2'208'988'800;  // 1900-01-01T00:00:00Z
constexpr std::int64_t kLast = 7'258'118'399;    // 2199-12-31T23:59:59Z

RC_GTEST_PROP(ClockProperty, DatesMatchStrftime, ()) {
  const auto seconds = *rc::gen::inRange<std::int64_t>(kFirst, kLast + 1);
  const auto millis = *rc::gen::inRange(0, 1000);
  const SystemTime t{std::chrono::seconds{seconds} + std::chrono::milliseconds{millis}};
  RC_ASSERT(format_http_date(t) == reference(seconds, "%a, %d %b %Y %H:%M:%S GMT"));
  RC_ASSERT(format_amz_date(t) == reference(seconds, "%Y%m%dT%H%M%SZ"));
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, ".%03dZ", millis);
  RC_ASSERT(format_iso8601_ms(t) == reference(seconds, "%Y-%m-%dT%H:%M:%S") + suffix);
}

TEST(ClockProperty, DayBoundariesAndLeapDays) {
  for (const std::int64_t seconds :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{951'782'400} /* 2000-02-29 */,
        std::int64_t{4'107'542'399} /* 2100-02-28T23:59:59 */, kFirst, kLast}) {
    const SystemTime t{std::chrono::seconds{seconds}};
    EXPECT_EQ(format_http_date(t), reference(seconds, "%a, %d %b %Y %H:%M:%S GMT")) << seconds;
  }
}

}  // namespace
}  // namespace efsas
