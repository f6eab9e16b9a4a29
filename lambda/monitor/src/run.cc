// One run: count, reconcile, report.
#include "efsas/monitor/run.h"

#include "efsas/counter/counter.h"

namespace efsas::monitor {

ScanSummary scan_files(const MonitorConfig& config, const Clock& clock,
                       std::optional<SteadyTime> deadline, const Logger& log) {
  counter::CountOptions options;
  options.threads = static_cast<unsigned>(config.scan_threads);
  options.cache_path = config.scan_cache_path;
  options.deadline = deadline;
  ScanSummary summary;
  auto counted = counter::count_files(config.scan_directory(), options, clock);
  if (!counted.ok()) {
    log.error("cannot count files",
              {{"directory", config.scan_directory()}, {"error", counted.error().to_string()}});
    summary.errors = 1;
    summary.complete = false;
    return summary;
  }
  summary.files = counted->counts.files;
  summary.errors = counted->errors;
  summary.seconds = counted->seconds();
  summary.complete = counted->complete;
  summary.cache = std::string(counter::to_string(counted->cache_state));
  summary.directories_read = counted->directories_read;
  summary.directories_reused = counted->directories_reused;
  nlohmann::json fields = counter::to_json(*counted);
  fields["directory"] = config.scan_directory();
  if (!counted->complete) {
    log.warn("scan stopped early: the count is a lower bound and will not scale", fields);
  } else {
    log.debug("scan finished", fields);
  }
  // Either makes this scan or the next one read every directory: slower, still right.
  if (counted->cache_state == counter::CacheState::kInvalid ||
      counted->cache_state == counter::CacheState::kForeign) {
    log.warn("scan cache not used: every directory was read",
             {{"path", config.scan_cache_path}, {"problem", counted->cache_message}});
  }
  if (!counted->cache_save_error.empty()) {
    log.warn("scan cache not saved: the next scan reads every directory",
             {{"path", config.scan_cache_path}, {"error", counted->cache_save_error}});
  }
  for (const auto& e : counted->error_samples) {
    // Names may hold any bytes: escaped, as everywhere a path is shown, not mangled by the logger.
    log.warn("directory could not be read",
             {{"path", counter::escape_for_display(e.path)}, {"error", e.message}});
  }
  return summary;
}

Result<RunReport> run_once(CloudApi& cloud, const MonitorConfig& config, const Clock& clock,
                           std::optional<SteadyTime> scan_deadline, const RunOutputs& outputs) {
  const ScanSummary scan = scan_files(config, clock, scan_deadline, outputs.log);
  auto report = reconcile(cloud, config, scan, clock, outputs.log);
  if (!report.ok()) {
    outputs.log.error("reconcile failed",
                      {{"file_system_id", config.file_system_id},
                       {"scan", {{"files", scan.files}, {"complete", scan.complete}}},
                       {"error", report.error().to_string()}});
  } else {
    outputs.log.log(report->ok() ? LogLevel::kInfo : LogLevel::kError, "reconcile finished",
                    report->to_json());
  }
  // Every run is measured, a failed one too: an alarm on RunErrors sees it.
  if (outputs.metrics) {
    outputs.metrics->write_line(
        emf_line(config.file_system_id, scan, report.ok() ? &*report : nullptr, clock.now()));
  }
  return report;
}

}  // namespace efsas::monitor
