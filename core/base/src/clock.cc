// Real and manual clocks, and the date formats the project writes.
#include "efsas/clock.h"

#include <ctime>
#include <thread>

namespace efsas {

void RealClock::sleep_for(std::chrono::nanoseconds duration) const {
  std::this_thread::sleep_for(duration);
}

ManualClock::ManualClock(SystemTime start) : wall_(start) {}

SystemTime ManualClock::now() const {
  std::lock_guard lock(mutex_);
  return wall_ + std::chrono::duration_cast<SystemTime::duration>(elapsed_);
}

SteadyTime ManualClock::steady_now() const {
  std::lock_guard lock(mutex_);
  return SteadyTime{} + std::chrono::duration_cast<SteadyTime::duration>(elapsed_);
}

void ManualClock::sleep_for(std::chrono::nanoseconds duration) const {
  std::lock_guard lock(mutex_);
  elapsed_ += duration;
  slept_ += duration;
}

void ManualClock::advance(std::chrono::nanoseconds duration) {
  std::lock_guard lock(mutex_);
  elapsed_ += duration;
}

std::chrono::nanoseconds ManualClock::total_slept() const {
  std::lock_guard lock(mutex_);
  return slept_;
}

namespace {

std::tm utc_parts(SystemTime time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  return parts;
}

std::string format(SystemTime time, const char* pattern) {
  const std::tm parts = utc_parts(time);
  char buffer[64];
  const size_t n = std::strftime(buffer, sizeof buffer, pattern, &parts);
  return std::string(buffer, n);
}

}  // namespace

std::string format_iso8601_ms(SystemTime time) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  const auto millis = static_cast<int>(((ms.count() % 1000) + 1000) % 1000);
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, ".%03dZ", millis);
  return format(time, "%Y-%m-%dT%H:%M:%S") + suffix;
}

std::string format_amz_date(SystemTime time) { return format(time, "%Y%m%dT%H%M%SZ"); }

std::string format_http_date(SystemTime time) { return format(time, "%a, %d %b %Y %H:%M:%S GMT"); }

}  // namespace efsas
