// `file-monitor run` (one reconcile), plus the edge helpers that `status` and `lambda` share:
// configuration from the environment and flags, logs, and the AWS client.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/monitor/cloud.h"
#include "efsas/monitor/config.h"
#include "efsas/result.h"

namespace efsas::app {

// Flags that override the environment variables of the same meaning (docs/file-monitor.md).
// Each flag's text, as given: it stands in for its environment variable and is read by the same
// parser (config_from_env), so a flag takes exactly the values the variable takes.
struct MonitorFlags {
  std::optional<std::string> file_system_id, mount_path, directory, threshold, ssm_parameter,
      ecs_cluster, ecs_service, force_ecs_deployment, subnets, security_groups, max_mount_targets,
      max_creates, scan_cache, scan_threads, log_level;
  bool dry_run = false;
};
void add_monitor_flags(CLI::App& command, MonitorFlags& flags);

// The process environment (environ) as a value.
monitor::Environment process_environment();
// The environment with each given flag in place of its variable, parsed and validated; an
// error names the flag when a flag's value is at fault, else the variable. A bad variable that a
// flag replaces is never read.
Result<monitor::MonitorConfig> load_config(const monitor::Environment& env,
                                           const MonitorFlags& flags);

Logger make_logger(LogLevel level, std::shared_ptr<const Clock> clock,
                   nlohmann::json context = nlohmann::json::object());

// The AWS client (region, endpoints and credentials from `env`) behind the monitor's CloudApi.
Result<std::unique_ptr<monitor::CloudApi>> make_cloud(const monitor::Environment& env,
                                                      std::shared_ptr<const Clock> clock,
                                                      const Logger& log);

// Exit codes: 0 done, 1 configuration or AWS failure (or an action failed), 3 the count was
// incomplete (nothing scaled).
void add_run_command(CLI::App& app);

}  // namespace efsas::app
