// One reconcile run over a CloudApi: observe (mount targets, candidate subnets, the published
// document), plan (planner.h), act (create mount targets, publish, force an ECS deployment) and
// report. Level-triggered: every run starts from what AWS says now, so a run that failed half way
// is repaired by the next one. Thread safety: a run uses its CloudApi from one thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/monitor/cloud.h"
#include "efsas/monitor/config.h"
#include "efsas/monitor/planner.h"

namespace efsas::monitor {

struct RunReport {
  Observation observed;
  Plan plan;
  bool dry_run = false;
  std::vector<MountTarget> created;
  // AZs where CreateMountTarget said MountTargetConflict and a mount target is there now: another
  // run got there first, or this run's own create did and a retry of it met it.
  std::vector<std::string> conflicts;
  bool published = false;
  std::uint64_t published_generation = 0;
  bool ecs_deployment_forced = false;
  std::vector<std::string> errors;  // failures of single actions; the run carried on

  bool ok() const { return errors.empty(); }
  // What the run saw and did, for its one summary log line and `status --json`.
  nlohmann::json to_json() const;
  // The same for an operator: `file-monitor run` without --json.
  std::string to_text() const;
};

// Reads the document into the planner's form: missing, malformed (with the reason and any
// generation that can be salvaged) or valid. A valid document of another file system is malformed.
PublishedDocument read_document(const std::string& file_system_id,
                                const std::optional<ParameterValue>& parameter);

// Observation without acting. Errors when AWS cannot be read (the run cannot plan without it).
Result<Observation> observe(CloudApi& cloud, const MonitorConfig& config, const ScanSummary& scan);

PlanLimits limits_from(const MonitorConfig& config);

// observe + plan + act. `config.dry_run` plans and reports without changing anything.
Result<RunReport> reconcile(CloudApi& cloud, const MonitorConfig& config, const ScanSummary& scan,
                            const Clock& clock, const Logger& log);

// CloudWatch Embedded Metric Format: one JSON line per run, dimension FileSystemId, with
// ScanSeconds, ScanErrors, ScanComplete (0 when the scan stopped early or could not start: the
// run could not scale) and RunErrors (the actions that failed; 1 when the run could not read
// AWS and `report` is null) always; FileCount and DesiredMountTargets only when the scan was
// complete (a partial count is a lower bound, not a figure to graph); MountTargets when the run
// read them.
std::string emf_line(const std::string& file_system_id, const ScanSummary& scan,
                     const RunReport* report, SystemTime now);

}  // namespace efsas::monitor
