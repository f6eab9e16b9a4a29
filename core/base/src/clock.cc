// Real and manual clocks, and the date formats the project writes.
#include "efsas/clock.h"

#include <algorithm>
#include <cstring>
#include <string_view>
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

// A UTC time broken into calendar fields with <chrono>'s civil calendar: plain arithmetic, no
// time-zone database, no locale (the date formats below are written on every HTTP response).
struct UtcParts {
  int year = 0;
  unsigned month = 0;  // 1..12
  unsigned day = 0;
  unsigned weekday = 0;  // 0 = Sunday
  long hour = 0;
  long minute = 0;
  long second = 0;
};

UtcParts utc_parts(SystemTime time) {
  using namespace std::chrono;
  const auto seconds = floor<std::chrono::seconds>(time);
  const auto day = floor<days>(seconds);
  const year_month_day date{day};
  const hh_mm_ss clock{seconds - day};
  return {static_cast<int>(date.year()),
          static_cast<unsigned>(date.month()),
          static_cast<unsigned>(date.day()),
          weekday{day}.c_encoding(),
          static_cast<long>(clock.hours().count()),
          static_cast<long>(clock.minutes().count()),
          static_cast<long>(clock.seconds().count())};
}

// Writes `value` as exactly `width` decimal digits (SystemTime spans the years 1677 to 2262, so
// every field fits its width) and returns the position after them.
char* put_digits(char* at, long value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return at + width;
}

// Three fields, the first `first_width` digits wide and the others two, with `separator` between
// them ('\0' for none): a date ("2015-08-30") or a time ("12:36:00").
char* put_fields(char* at, long first, int first_width, long second, long third, char separator) {
  at = put_digits(at, first, first_width);
  if (separator != '\0') *at++ = separator;
  at = put_digits(at, second, 2);
  if (separator != '\0') *at++ = separator;
  return put_digits(at, third, 2);
}

char* put_time(char* at, const UtcParts& t, char separator) {
  return put_fields(at, t.hour, 2, t.minute, t.second, separator);
}

// "2015-08-30T12:36:00" with the given separators between the date's and the time's fields.
char* put_date_time(char* at, const UtcParts& t, char date_separator, char time_separator) {
  at = put_fields(at, t.year, 4, t.month, t.day, date_separator);
  *at++ = 'T';
  return put_time(at, t, time_separator);
}

char* put_text(char* at, std::string_view text) {
  std::memcpy(at, text.data(), text.size());
  return at + text.size();
}

}  // namespace

std::string format_iso8601_ms(SystemTime time) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time).time_since_epoch().count();
  char out[24];
  char* at = put_date_time(out, utc_parts(time), '-', ':');
  *at++ = '.';
  at = put_digits(at, ((ms % 1000) + 1000) % 1000, 3);
  *at++ = 'Z';
  return std::string(out, at);
}

std::string format_amz_date(SystemTime time) {
  char out[16];
  char* at = put_date_time(out, utc_parts(time), '\0', '\0');
  *at++ = 'Z';
  return std::string(out, at);
}

SystemTime system_time_at(std::int64_t seconds, std::int64_t nanoseconds) {
  using std::chrono::duration_cast;
  // One second inside the limit, so that the nanoseconds added below cannot overflow.
  constexpr std::int64_t kLimit =
      duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count() - 1;
  if (seconds > kLimit) return SystemTime{std::chrono::seconds{kLimit}};
  if (seconds < -kLimit) return SystemTime{std::chrono::seconds{-kLimit}};
  nanoseconds = std::clamp<std::int64_t>(nanoseconds, 0, 999'999'999);
  return SystemTime{duration_cast<SystemTime::duration>(std::chrono::seconds{seconds} +
                                                        std::chrono::nanoseconds{nanoseconds})};
}

std::string format_http_date(SystemTime time) {
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const UtcParts t = utc_parts(time);
  char out[29];  // "Sun, 06 Nov 1994 08:49:37 GMT"
  char* at = put_text(out, kDays[t.weekday]);
  at = put_text(at, ", ");
  at = put_digits(at, t.day, 2);
  *at++ = ' ';
  at = put_text(at, kMonths[t.month - 1]);
  *at++ = ' ';
  at = put_digits(at, t.year, 4);
  *at++ = ' ';
  at = put_time(at, t, ':');
  at = put_text(at, " GMT");
  return std::string(out, at);
}

}  // namespace efsas
