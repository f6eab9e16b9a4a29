// JSON log lines: {"timestamp", "level", "message", ...context, ...fields}.
#include "efsas/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "efsas/result.h"

namespace efsas {

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

bool parse_log_level(std::string_view text, LogLevel* out) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "debug")
    *out = LogLevel::kDebug;
  else if (lower == "info")
    *out = LogLevel::kInfo;
  else if (lower == "warn" || lower == "warning")
    *out = LogLevel::kWarn;
  else if (lower == "error")
    *out = LogLevel::kError;
  else
    return false;
  return true;
}

namespace {

// spdlog's stderr sink serialises writes from many threads and flushes each line.
class StderrSink final : public LogSink {
 public:
  StderrSink()
      : logger_(std::make_shared<spdlog::logger>(
            "efsas", std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::trace);
    logger_->flush_on(spdlog::level::trace);
  }
  void write_line(std::string_view line) override { logger_->log(spdlog::level::info, "{}", line); }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

std::shared_ptr<LogSink> make_stderr_sink() { return std::make_shared<StderrSink>(); }

void MemorySink::write_line(std::string_view line) {
  std::lock_guard lock(mutex_);
  lines_.emplace_back(line);
}

std::vector<std::string> MemorySink::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

Logger::Logger() : context_(nlohmann::json::object()) {}

Logger::Logger(std::shared_ptr<LogSink> sink, LogLevel min_level,
               std::shared_ptr<const Clock> clock, nlohmann::json context)
    : sink_(std::move(sink)),
      min_level_(min_level),
      clock_(std::move(clock)),
      context_(std::move(context)) {
  if (!context_.is_object()) context_ = nlohmann::json::object();
}

Logger Logger::with(const nlohmann::json& fields) const {
  Logger child = *this;
  if (fields.is_object()) child.context_.update(fields);
  return child;
}

void Logger::log(LogLevel level, std::string_view message, const nlohmann::json& fields) const {
  if (!enabled(level)) return;
  nlohmann::ordered_json line;
  line["timestamp"] = clock_ ? format_iso8601_ms(clock_->now()) : std::string();
  line["level"] = to_string(level);
  line["message"] = message;
  for (const auto& [key, value] : context_.items()) line[key] = value;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line[key] = value;
  }
  // Invalid UTF-8 in a field (a file name, say) is replaced rather than thrown on.
  sink_->write_line(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace efsas
