// Real and manual clocks, and the date formats the project writes.
#include "efsas/clock.h"

#include <charconv>
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

void append_digits(std::string& out, long value, int width) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  for (auto n = end - buffer; n < width; ++n) out += '0';
  out.append(buffer, end);
}

// "2015-08-30" with `separator` between the fields ('\0' for none).
void append_date(std::string& out, const UtcParts& t, char separator) {
  append_digits(out, t.year, 4);
  if (separator != '\0') out += separator;
  append_digits(out, t.month, 2);
  if (separator != '\0') out += separator;
  append_digits(out, t.day, 2);
}

void append_time(std::string& out, const UtcParts& t, char separator) {
  append_digits(out, t.hour, 2);
  if (separator != '\0') out += separator;
  append_digits(out, t.minute, 2);
  if (separator != '\0') out += separator;
  append_digits(out, t.second, 2);
}

// "2015-08-30T12:36:00" with the given separators between the date's and the time's fields.
void append_date_time(std::string& out, const UtcParts& t, char date_separator,
                      char time_separator) {
  append_date(out, t, date_separator);
  out += 'T';
  append_time(out, t, time_separator);
}

}  // namespace

std::string format_iso8601_ms(SystemTime time) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time).time_since_epoch().count();
  const UtcParts t = utc_parts(time);
  std::string out;
  out.reserve(24);
  append_date_time(out, t, '-', ':');
  out += '.';
  append_digits(out, ((ms % 1000) + 1000) % 1000, 3);
  out += 'Z';
  return out;
}

std::string format_amz_date(SystemTime time) {
  const UtcParts t = utc_parts(time);
  std::string out;
  out.reserve(16);
  append_date_time(out, t, '\0', '\0');
  out += 'Z';
  return out;
}

std::string format_http_date(SystemTime time) {
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const UtcParts t = utc_parts(time);
  std::string out;
  out.reserve(29);
  out += kDays[t.weekday];
  out += ", ";
  append_digits(out, t.day, 2);
  out += ' ';
  out += kMonths[t.month - 1];
  out += ' ';
  append_digits(out, t.year, 4);
  out += ' ';
  append_time(out, t, ':');
  out += " GMT";
  return out;
}

}  // namespace efsas
