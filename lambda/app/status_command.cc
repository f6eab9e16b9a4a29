// `file-monitor status [--json] [--no-scan] [flags]`: observe and plan without acting.
#include "status_command.h"

#include <cstdio>
#include <iostream>

#include "efsas/monitor/reconciler.h"
#include "efsas/monitor/run.h"
#include "run_command.h"

namespace efsas::app {
namespace {

int show_status(const MonitorFlags& flags, bool json, bool scan) {
  auto clock = std::make_shared<const RealClock>();
  const monitor::Environment env = process_environment();
  auto config = load_config(env, flags);
  if (!config.ok()) {
    std::fprintf(stderr, "file-monitor status: %s\n", config.error().message.c_str());
    return 1;
  }
  config->dry_run = true;  // status never acts
  const Logger log = make_logger(config->log_level, clock);
  auto cloud = make_cloud(env, clock, log);
  if (!cloud.ok()) {
    std::fprintf(stderr, "file-monitor status: %s\n", cloud.error().to_string().c_str());
    return 1;
  }
  auto fs = (*cloud)->describe_file_system(config->file_system_id);
  if (!fs.ok()) {
    std::fprintf(stderr, "file-monitor status: %s\n", fs.error().to_string().c_str());
    return 1;
  }
  auto parameter = (*cloud)->get_parameter(config->ssm_parameter_name);
  if (!parameter.ok()) {
    std::fprintf(stderr, "file-monitor status: %s\n", parameter.error().to_string().c_str());
    return 1;
  }
  monitor::ScanSummary summary;
  if (scan) summary = monitor::scan_files(*config, *clock, std::nullopt, log);
  auto report = monitor::reconcile(**cloud, *config, summary, *clock, Logger());
  if (!report.ok()) {
    std::fprintf(stderr, "file-monitor status: %s\n", report.error().to_string().c_str());
    return 1;
  }
  nlohmann::json out = report->to_json();
  out["file_system"] = {
      {"id", fs->id},
      {"name", fs->name},
      {"life_cycle_state", fs->life_cycle_state},
      {"number_of_mount_targets", fs->number_of_mount_targets},
      {"availability_zone", fs->availability_zone.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(fs->availability_zone)}};
  out["parameter"] = {{"name", config->ssm_parameter_name},
                      {"version", parameter->has_value() ? (*parameter)->version : 0},
                      {"value", parameter->has_value() ? (*parameter)->value : ""}};
  if (!scan) {
    // Nothing was counted: no desired count, and no scan figures that look like a count of 0.
    out["scan"] = nullptr;
    out["desired_mount_targets"] = nullptr;
  }
  // What a run would fail on (a describe call refused, ...) fails status too: "change nothing"
  // alone would hide it.
  const int status = report->ok() ? 0 : 1;
  if (json) {
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return status;
  }
  const std::string zone =
      fs->availability_zone.empty() ? "" : ", One Zone in " + fs->availability_zone;
  std::printf("file system   %s (%s) %s, %d mount target(s)%s\n", fs->id.c_str(), fs->name.c_str(),
              fs->life_cycle_state.c_str(), fs->number_of_mount_targets, zone.c_str());
  for (const auto& t : report->observed.mount_targets) {
    std::printf("  %-24s %-12s %-16s %-26s %s\n", t.id.c_str(), t.availability_zone.c_str(),
                t.ip_address.c_str(), t.subnet_id.c_str(), t.state.c_str());
  }
  const auto& doc = report->observed.document;
  std::printf("document      %s: ", config->ssm_parameter_name.c_str());
  switch (doc.state) {
    case monitor::DocumentState::kMissing:
      std::printf("missing\n");
      break;
    case monitor::DocumentState::kMalformed:
      std::printf("malformed (%s)\n", doc.problem.c_str());
      break;
    case monitor::DocumentState::kValid:
      std::printf("generation %llu, %zu mount target(s), updated %s\n",
                  static_cast<unsigned long long>(doc.list.generation),
                  doc.list.mount_targets.size(), doc.list.updated_at.c_str());
      break;
  }
  const auto& plan = report->plan;
  if (scan) {
    std::printf("files         %llu in %s%s\n",
                static_cast<unsigned long long>(report->observed.scan.files),
                config->scan_directory().c_str(),
                report->observed.scan.complete ? "" : " (incomplete)");
    std::printf(
        "desired       %d mount target(s) (threshold %llu, max %d)\n", plan.desired_mount_targets,
        static_cast<unsigned long long>(config->file_count_threshold), config->max_mount_targets);
  } else {
    std::printf("files         not counted (--no-scan): scaling not evaluated\n");
  }
  std::string actions;
  auto add = [&actions](const std::string& action) {
    actions += (actions.empty() ? "" : "; ") + action;
  };
  for (const auto& c : plan.creates) {
    add("create a mount target in " + c.availability_zone + " (" + c.subnet_id + ")");
  }
  if (plan.publish.has_value()) {
    add("publish generation " + std::to_string(plan.publish->generation) + " with " +
        std::to_string(plan.publish->mount_targets.size()) + " mount target(s)");
    if (plan.force_ecs_deployment) add("redeploy the ECS service");
  }
  std::printf("a run would   %s\n", actions.empty() ? "change nothing" : actions.c_str());
  for (const auto& note : plan.notes) {
    // Without a count, the planner's "scan incomplete" note says nothing the files line does not.
    if (scan || note.find("scan incomplete") == std::string::npos) {
      std::printf("note          %s\n", note.c_str());
    }
  }
  for (const auto& error : report->errors) std::printf("error         %s\n", error.c_str());
  return status;
}

}  // namespace

void add_status_command(CLI::App& app) {
  auto flags = std::make_shared<MonitorFlags>();
  auto json = std::make_shared<bool>(false);
  auto scan = std::make_shared<bool>(true);
  CLI::App* cmd = app.add_subcommand(
      "status", "Show the file system, mount targets, the published list and what a run would do");
  add_monitor_flags(*cmd, *flags);
  cmd->add_flag("--json", *json, "Print everything as one JSON object");
  cmd->add_flag("!--no-scan", *scan, "Do not count files (scaling is then not evaluated)");
  cmd->callback([flags, json, scan] {
    const int code = show_status(*flags, *json, *scan);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace efsas::app
