// The clock seam: wall time, monotonic time and sleeping pass through a Clock so that tests can
// freeze or advance time. Thread safety: RealClock is stateless; ManualClock locks internally.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace efsas {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
  virtual SteadyTime steady_now() const = 0;
  virtual void sleep_for(std::chrono::nanoseconds duration) const = 0;
};

class RealClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::nanoseconds duration) const override;
};

// A clock that moves only when told to; sleep_for advances it instead of blocking.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start = SystemTime{std::chrono::seconds{1'700'000'000}});
  SystemTime now() const override;
  SteadyTime steady_now() const override;
  void sleep_for(std::chrono::nanoseconds duration) const override;
  void advance(std::chrono::nanoseconds duration);
  // Total time slept through sleep_for, so tests can assert backoff schedules.
  std::chrono::nanoseconds total_slept() const;

 private:
  mutable std::mutex mutex_;
  SystemTime wall_;
  mutable std::chrono::nanoseconds elapsed_{0};
  mutable std::chrono::nanoseconds slept_{0};
};

// The time `seconds` and `nanoseconds` after the epoch, held to the range SystemTime can hold
// (about the years 1678 to 2262; whole seconds at the ends). Times from outside (file times,
// HTTP dates, credential expiry) can be anything, and converting one beyond the range overflows.
SystemTime system_time_at(std::int64_t seconds, std::int64_t nanoseconds = 0);

// "2026-11-25T19:30:00.123Z" (UTC, milliseconds).
std::string format_iso8601_ms(SystemTime time);
// "20261125T193000Z", the form SigV4 uses.
std::string format_amz_date(SystemTime time);
// "Wed, 25 Nov 2026 19:30:00 GMT", the form HTTP dates use.
std::string format_http_date(SystemTime time);

}  // namespace efsas
