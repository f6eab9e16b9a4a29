// `file-monitor run [--dry-run] [flags]`: count, plan and act once, like one scheduled Lambda run.
#include "run_command.h"

#include <cstdio>
#include <iostream>

#include "efsas/aws/client.h"
#include "efsas/aws/environment.h"
#include "efsas/aws/http.h"
#include "efsas/monitor/run.h"

extern char** environ;

namespace efsas::app {

void add_monitor_flags(CLI::App& command, MonitorFlags& flags) {
  command.add_option("--file-system-id", flags.file_system_id, "EFS_FILE_SYSTEM_ID");
  command.add_option("--mount-path", flags.mount_path, "EFS_MOUNT_PATH");
  command.add_option("--directory", flags.directory,
                     "EFS_TARGET_DIRECTORY (relative to the mount path)");
  command.add_option("--threshold", flags.threshold, "FILE_COUNT_THRESHOLD");
  command.add_option("--ssm-parameter", flags.ssm_parameter, "SSM_PARAMETER_NAME");
  command.add_option("--ecs-cluster", flags.ecs_cluster, "ECS_CLUSTER_NAME");
  command.add_option("--ecs-service", flags.ecs_service, "ECS_SERVICE_NAME");
  command.add_option("--force-ecs-deployment", flags.force_ecs_deployment,
                     "FORCE_ECS_DEPLOYMENT (true|false)");
  command.add_option("--subnets", flags.subnets, "CANDIDATE_SUBNET_IDS (comma-separated)");
  command.add_option("--security-groups", flags.security_groups,
                     "MOUNT_TARGET_SECURITY_GROUP_IDS (comma-separated)");
  command.add_option("--max-mount-targets", flags.max_mount_targets, "MAX_MOUNT_TARGETS");
  command.add_option("--max-creates-per-run", flags.max_creates, "MAX_CREATES_PER_RUN");
  command.add_option("--scan-cache", flags.scan_cache, "SCAN_CACHE_PATH (\"\" disables it)");
  command.add_option("--scan-threads", flags.scan_threads, "SCAN_THREADS");
  command.add_option("--log-level", flags.log_level, "LOG_LEVEL (debug|info|warn|error)");
  command.add_flag("--dry-run", flags.dry_run, "DRY_RUN: say what would change, change nothing");
}

monitor::Environment process_environment() {
  monitor::Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto eq = text.find('=');
    if (eq != std::string::npos) env[text.substr(0, eq)] = text.substr(eq + 1);
  }
  return env;
}

Result<monitor::MonitorConfig> load_config(const monitor::Environment& env,
                                           const MonitorFlags& flags) {
  const std::pair<const std::optional<std::string>*, std::pair<const char*, const char*>>
      overrides[] = {
          {&flags.file_system_id, {"EFS_FILE_SYSTEM_ID", "--file-system-id"}},
          {&flags.mount_path, {"EFS_MOUNT_PATH", "--mount-path"}},
          {&flags.directory, {"EFS_TARGET_DIRECTORY", "--directory"}},
          {&flags.threshold, {"FILE_COUNT_THRESHOLD", "--threshold"}},
          {&flags.ssm_parameter, {"SSM_PARAMETER_NAME", "--ssm-parameter"}},
          {&flags.ecs_cluster, {"ECS_CLUSTER_NAME", "--ecs-cluster"}},
          {&flags.ecs_service, {"ECS_SERVICE_NAME", "--ecs-service"}},
          {&flags.force_ecs_deployment, {"FORCE_ECS_DEPLOYMENT", "--force-ecs-deployment"}},
          {&flags.subnets, {"CANDIDATE_SUBNET_IDS", "--subnets"}},
          {&flags.security_groups, {"MOUNT_TARGET_SECURITY_GROUP_IDS", "--security-groups"}},
          {&flags.max_mount_targets, {"MAX_MOUNT_TARGETS", "--max-mount-targets"}},
          {&flags.max_creates, {"MAX_CREATES_PER_RUN", "--max-creates-per-run"}},
          {&flags.scan_cache, {"SCAN_CACHE_PATH", "--scan-cache"}},
          {&flags.scan_threads, {"SCAN_THREADS", "--scan-threads"}},
          {&flags.log_level, {"LOG_LEVEL", "--log-level"}},
      };
  monitor::Environment merged = env;
  for (const auto& [value, names] : overrides) {
    if (*value) merged[names.first] = **value;
  }
  if (flags.dry_run) merged["DRY_RUN"] = "true";
  auto config = monitor::config_from_env(merged);
  Status valid = config.ok() ? monitor::validate(*config) : Status(config.error());
  if (valid.ok()) return config;
  Error error = valid.error();
  for (const auto& [value, names] : overrides) {
    const std::string_view variable = names.first;
    if (*value && error.message.starts_with(variable) &&
        error.message.find(names.second) == std::string::npos) {
      error.message = names.second + error.message.substr(variable.size());
      break;
    }
  }
  return error;
}

Logger make_logger(LogLevel level, std::shared_ptr<const Clock> clock, nlohmann::json context) {
  context["service"] = "file-monitor";
  return Logger(make_stderr_sink(), level, std::move(clock), std::move(context));
}

Result<std::unique_ptr<monitor::CloudApi>> make_cloud(const monitor::Environment& env,
                                                      std::shared_ptr<const Clock> clock,
                                                      const Logger& log) {
  const aws::Environment aws_env(env.begin(), env.end());
  auto transport =
      aws::make_curl_transport(8, aws::env_value(aws_env, "AWS_CA_BUNDLE").value_or(""));
  auto client = aws::make_aws_client(aws_env, std::move(transport), std::move(clock), log);
  if (!client.ok()) return client.error();
  return monitor::make_aws_cloud(std::move(client).value());
}

namespace {

int run_reconcile(const MonitorFlags& flags, bool json) {
  auto clock = std::make_shared<const RealClock>();
  const monitor::Environment env = process_environment();
  auto config = load_config(env, flags);
  if (!config.ok()) {
    std::fprintf(stderr, "file-monitor run: %s\n", config.error().message.c_str());
    return 1;
  }
  const Logger log = make_logger(config->log_level, clock);
  auto cloud = make_cloud(env, clock, log);
  if (!cloud.ok()) {
    std::fprintf(stderr, "file-monitor run: %s\n", cloud.error().to_string().c_str());
    return 1;
  }
  auto report = monitor::run_once(**cloud, *config, *clock, std::nullopt,
                                  monitor::RunOutputs{log, make_stderr_sink()});
  if (!report.ok()) {
    std::fprintf(stderr, "file-monitor run: %s\n", report.error().to_string().c_str());
    return 1;
  }
  if (json) {
    std::cout << report->to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::fputs(report->to_text().c_str(), stdout);
  }
  if (!report->ok()) return 1;
  return report->observed.scan.complete ? 0 : 3;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto flags = std::make_shared<MonitorFlags>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("run", "Count files and reconcile mount targets once");
  add_monitor_flags(*cmd, *flags);
  cmd->add_flag("--json", *json, "Print the run report as one JSON object");
  cmd->callback([flags, json] {
    const int code = run_reconcile(*flags, *json);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace efsas::app
