// Structured JSON logs, one object per line, as CloudWatch Logs Insights reads them.
// Thread safety: a Logger is an immutable value; sinks serialise their writes.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/clock.h"

namespace efsas {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::string_view to_string(LogLevel level);
// Accepts debug, info, warn/warning, error (any case); nullopt-like failure returns false.
bool parse_log_level(std::string_view text, LogLevel* out);

class LogSink {
 public:
  virtual ~LogSink() = default;
  // Writes one complete line (without its newline). Must be safe to call from many threads.
  virtual void write_line(std::string_view line) = 0;
};

// Lines to standard error (what Lambda and ECS forward to CloudWatch Logs).
std::shared_ptr<LogSink> make_stderr_sink();
// Lines kept in memory, for tests and for the demo's summaries.
class MemorySink final : public LogSink {
 public:
  void write_line(std::string_view line) override;
  std::vector<std::string> lines() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

class Logger {
 public:
  // A logger that drops everything.
  Logger();
  Logger(std::shared_ptr<LogSink> sink, LogLevel min_level, std::shared_ptr<const Clock> clock,
         nlohmann::json context = nlohmann::json::object());

  // A logger whose every line carries these fields too (e.g. the request id).
  Logger with(const nlohmann::json& fields) const;

  bool enabled(LogLevel level) const { return sink_ && level >= min_level_; }
  void log(LogLevel level, std::string_view message,
           const nlohmann::json& fields = nlohmann::json::object()) const;
  void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) const {
    log(LogLevel::kDebug, m, f);
  }
  void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) const {
    log(LogLevel::kInfo, m, f);
  }
  void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) const {
    log(LogLevel::kWarn, m, f);
  }
  void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) const {
    log(LogLevel::kError, m, f);
  }

 private:
  std::shared_ptr<LogSink> sink_;
  LogLevel min_level_ = LogLevel::kInfo;
  std::shared_ptr<const Clock> clock_;
  nlohmann::json context_;
};

}  // namespace efsas
