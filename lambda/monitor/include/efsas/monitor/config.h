// file-monitor's configuration: one immutable value, parsed once at the edge from the agreed
// environment variables (docs/file-monitor.md), then overridden by CLI flags and validated.
// Pure functions; the caller passes the environment in.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "efsas/log.h"
#include "efsas/result.h"

namespace efsas::monitor {

struct MonitorConfig {
  std::string file_system_id;                   // EFS_FILE_SYSTEM_ID
  std::string mount_path = "/mnt/efs";          // EFS_MOUNT_PATH
  std::string target_directory = "/data";       // EFS_TARGET_DIRECTORY, relative to mount_path
  std::uint64_t file_count_threshold = 100000;  // FILE_COUNT_THRESHOLD
  std::string ssm_parameter_name = "/efs-mount-autoscaling/mount-targets";  // SSM_PARAMETER_NAME
  std::string ecs_cluster_name;                                             // ECS_CLUSTER_NAME
  std::string ecs_service_name;                                             // ECS_SERVICE_NAME
  bool force_ecs_deployment = true;                                         // FORCE_ECS_DEPLOYMENT
  std::vector<std::string> candidate_subnet_ids;                            // CANDIDATE_SUBNET_IDS
  std::vector<std::string> security_group_ids;                   // MOUNT_TARGET_SECURITY_GROUP_IDS
  int max_mount_targets = 3;                                     // MAX_MOUNT_TARGETS
  int max_creates_per_run = 1;                                   // MAX_CREATES_PER_RUN
  bool dry_run = false;                                          // DRY_RUN
  std::string scan_cache_path = "/tmp/file-monitor-scan.cache";  // SCAN_CACHE_PATH ("" = none)
  int scan_threads = 16;                                         // SCAN_THREADS
  LogLevel log_level = LogLevel::kInfo;                          // LOG_LEVEL

  // mount_path joined with target_directory: what the scan walks.
  std::string scan_directory() const;
  bool ecs_configured() const { return !ecs_cluster_name.empty() && !ecs_service_name.empty(); }
};

// The process environment as a value (the same shape as efsas::aws::Environment).
using Environment = std::map<std::string, std::string, std::less<>>;

// Reads the variables above; an absent or empty variable keeps the default. InvalidArgument
// naming the variable for a value that does not parse (e.g. FILE_COUNT_THRESHOLD=ten).
Result<MonitorConfig> config_from_env(const Environment& env);

// Checks the whole value (for `run`, `status` and Lambda): file system id present and shaped
// fs-..., threshold >= 1, limits in range, subnet/security-group ids shaped right.
// The message names the variable to fix.
Status validate(const MonitorConfig& config);

// SCAN_THREADS's value, for `run` and `count` alike: a whole number from 1 to 1024.
Result<int> parse_scan_threads(const std::string& text);

// "a, b,,c" -> {"a","b","c"}.
std::vector<std::string> split_list(const std::string& text);
// true/false/1/0/yes/no (any case).
Result<bool> parse_bool(const std::string& name, const std::string& text);

}  // namespace efsas::monitor
