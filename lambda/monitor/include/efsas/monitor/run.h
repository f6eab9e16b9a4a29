// A whole file-monitor run as the CLI and the Lambda handler use it: count the files (with the
// scan cache and an optional deadline), reconcile, then write the run's summary log line and its
// CloudWatch EMF line. Thread safety: one run at a time per cache file.
#pragma once

#include <optional>

#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/monitor/cloud.h"
#include "efsas/monitor/config.h"
#include "efsas/monitor/reconciler.h"

namespace efsas::monitor {

// Counts config.scan_directory(). A root that cannot be read gives an incomplete summary with
// one error (and so no scaling), never a failure: the run still publishes what exists.
ScanSummary scan_files(const MonitorConfig& config, const Clock& clock,
                       std::optional<SteadyTime> deadline, const Logger& log);

struct RunOutputs {
  Logger log;                        // the summary line goes here ("reconcile finished")
  std::shared_ptr<LogSink> metrics;  // the EMF line goes here (stdout on Lambda); may be null
};

// scan_files + reconcile + outputs. Errors only when AWS could not be read at all.
Result<RunReport> run_once(CloudApi& cloud, const MonitorConfig& config, const Clock& clock,
                           std::optional<SteadyTime> scan_deadline, const RunOutputs& outputs);

}  // namespace efsas::monitor
