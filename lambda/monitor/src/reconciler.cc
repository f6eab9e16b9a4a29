// One reconcile run: observe, plan, act, report.
#include "efsas/monitor/reconciler.h"

#include <algorithm>
#include <chrono>

namespace efsas::monitor {
namespace {

std::string_view to_string(DocumentState state) {
  switch (state) {
    case DocumentState::kMissing:
      return "missing";
    case DocumentState::kMalformed:
      return "malformed";
    case DocumentState::kValid:
      return "valid";
  }
  return "unknown";
}

nlohmann::json targets_json(const std::vector<MountTarget>& targets) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : targets) {
    out.push_back({{"id", t.id},
                   {"availability_zone", t.availability_zone},
                   {"subnet_id", t.subnet_id},
                   {"ip_address", t.ip_address},
                   {"state", t.state}});
  }
  return out;
}

Result<std::vector<Subnet>> candidate_subnets(CloudApi& cloud, const MonitorConfig& config,
                                              const std::vector<MountTarget>& targets) {
  if (!config.candidate_subnet_ids.empty()) {
    return cloud.describe_subnets(config.candidate_subnet_ids, "");
  }
  // DescribeFileSystems does not name the VPC; an existing mount target's subnet does.
  if (targets.empty()) {
    return make_error(ErrorCode::kPreconditionFailed,
                      "cannot discover the file system's VPC: it has no mount target yet; "
                      "set CANDIDATE_SUBNET_IDS");
  }
  auto first = cloud.describe_subnets({targets.front().subnet_id}, "");
  if (!first.ok()) return first.error();
  if (first->empty() || first->front().vpc_id.empty()) {
    return make_error(ErrorCode::kNotFound,
                      "cannot find the VPC of subnet " + targets.front().subnet_id);
  }
  return cloud.describe_subnets({}, first->front().vpc_id);
}

}  // namespace

PublishedDocument read_document(const std::string& file_system_id,
                                const std::optional<ParameterValue>& parameter) {
  PublishedDocument doc;
  if (!parameter.has_value()) return doc;
  const auto version = static_cast<std::uint64_t>(std::max<std::int64_t>(0, parameter->version));
  doc.generation_floor = version;
  auto parsed = parse_mount_target_list(parameter->value);
  if (parsed.ok() && parsed->file_system_id == file_system_id) {
    doc.state = DocumentState::kValid;
    doc.generation_floor = std::max(doc.generation_floor, parsed->generation);
    doc.list = std::move(parsed).value();
    return doc;
  }
  doc.state = DocumentState::kMalformed;
  if (parsed.ok()) {
    doc.problem = "document is for file system " + parsed->file_system_id;
    doc.generation_floor = std::max(doc.generation_floor, parsed->generation);
    return doc;
  }
  doc.problem = parsed.error().message;
  // Readers may hold a generation from before the damage: stay above it when it can be read.
  const auto json = nlohmann::json::parse(parameter->value, nullptr, false);
  if (json.is_object() && json.contains("generation") && json["generation"].is_number_unsigned()) {
    doc.generation_floor = std::max(doc.generation_floor, json["generation"].get<std::uint64_t>());
  }
  return doc;
}

Result<Observation> observe(CloudApi& cloud, const MonitorConfig& config, const ScanSummary& scan) {
  Observation observed;
  observed.file_system_id = config.file_system_id;
  observed.scan = scan;
  auto targets = cloud.describe_mount_targets(config.file_system_id);
  if (!targets.ok()) return targets.error();
  observed.mount_targets = std::move(targets).value();
  auto subnets = candidate_subnets(cloud, config, observed.mount_targets);
  if (!subnets.ok()) return subnets.error();
  observed.subnets = std::move(subnets).value();
  auto parameter = cloud.get_parameter(config.ssm_parameter_name);
  if (!parameter.ok()) return parameter.error();
  observed.document = read_document(config.file_system_id, *parameter);
  return observed;
}

PlanLimits limits_from(const MonitorConfig& config) {
  PlanLimits limits;
  limits.file_count_threshold = config.file_count_threshold;
  limits.max_mount_targets = config.max_mount_targets;
  limits.max_creates_per_run = config.max_creates_per_run;
  limits.force_ecs_deployment = config.force_ecs_deployment && config.ecs_configured();
  return limits;
}

Result<RunReport> reconcile(CloudApi& cloud, const MonitorConfig& config, const ScanSummary& scan,
                            const Clock& clock, const Logger& log) {
  auto observed = observe(cloud, config, scan);
  if (!observed.ok()) return observed.error();
  RunReport report;
  report.dry_run = config.dry_run;
  report.observed = std::move(observed).value();
  const PlanLimits limits = limits_from(config);
  report.plan = plan_reconcile(report.observed, limits, clock.now());
  for (const auto& note : report.plan.notes) log.info(note);
  if (config.dry_run) return report;

  for (const auto& create : report.plan.creates) {
    auto made = cloud.create_mount_target(config.file_system_id, create.subnet_id,
                                          config.security_group_ids);
    if (made.ok()) {
      log.info("created mount target", {{"mount_target_id", made->id},
                                        {"subnet_id", create.subnet_id},
                                        {"availability_zone", create.availability_zone}});
      report.created.push_back(std::move(made).value());
    } else if (made.error().remote_code == "MountTargetConflict") {
      // Another run (or an operator) created one in this AZ first: the goal is met.
      log.info(
          "mount target already exists in this AZ",
          {{"availability_zone", create.availability_zone}, {"error", made.error().to_string()}});
      report.conflicts.push_back(create.availability_zone);
    } else {
      log.error("CreateMountTarget failed",
                {{"subnet_id", create.subnet_id}, {"error", made.error().to_string()}});
      report.errors.push_back("CreateMountTarget in " + create.subnet_id + ": " +
                              made.error().to_string());
    }
  }

  // Publish from fresh reads: the mount targets after our creations, and the parameter as it is
  // now, so a run that raced another never writes a lower generation than the one it finds.
  Observation latest = report.observed;
  latest.scan.complete = false;  // no creations in this second plan
  if (!report.plan.creates.empty()) {
    auto targets = cloud.describe_mount_targets(config.file_system_id);
    if (targets.ok()) {
      latest.mount_targets = std::move(targets).value();
    } else {
      report.errors.push_back("DescribeMountTargets after creating: " +
                              targets.error().to_string());
      return report;
    }
  }
  if (report.plan.publish.has_value() || !report.plan.creates.empty()) {
    auto parameter = cloud.get_parameter(config.ssm_parameter_name);
    if (!parameter.ok()) {
      report.errors.push_back("GetParameter before publishing: " + parameter.error().to_string());
      return report;
    }
    latest.document = read_document(config.file_system_id, *parameter);
  }
  const Plan publish_plan = plan_reconcile(latest, limits, clock.now());
  report.plan.publish = publish_plan.publish;
  report.plan.force_ecs_deployment = publish_plan.force_ecs_deployment;
  if (!publish_plan.publish.has_value()) return report;

  auto text = serialize_mount_target_list(*publish_plan.publish);
  if (!text.ok()) {
    report.errors.push_back("cannot serialise the mount-target document: " +
                            text.error().to_string());
    return report;
  }
  if (latest.document.state == DocumentState::kMalformed) {
    log.warn("replacing a malformed mount-target document",
             {{"parameter", config.ssm_parameter_name}, {"problem", latest.document.problem}});
  }
  auto version = cloud.put_parameter(config.ssm_parameter_name, *text);
  if (!version.ok()) {
    report.errors.push_back("PutParameter: " + version.error().to_string());
    return report;
  }
  report.published = true;
  report.published_generation = publish_plan.publish->generation;
  log.info("published mount-target document",
           {{"parameter", config.ssm_parameter_name},
            {"generation", report.published_generation},
            {"mount_targets", publish_plan.publish->mount_targets.size()}});

  if (publish_plan.force_ecs_deployment) {
    Status deployed = cloud.force_new_deployment(config.ecs_cluster_name, config.ecs_service_name);
    if (deployed.ok()) {
      report.ecs_deployment_forced = true;
    } else {
      report.errors.push_back("UpdateService forceNewDeployment: " + deployed.error().to_string());
    }
  }
  return report;
}

nlohmann::json RunReport::to_json() const {
  nlohmann::json planned = nlohmann::json::array();
  for (const auto& c : plan.creates) {
    planned.push_back({{"subnet_id", c.subnet_id}, {"availability_zone", c.availability_zone}});
  }
  nlohmann::json document = {{"state", to_string(observed.document.state)}};
  if (observed.document.state == DocumentState::kValid) {
    document["generation"] = observed.document.list.generation;
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& t : observed.document.list.mount_targets) ids.push_back(t.id);
    document["mount_targets"] = ids;
  }
  if (!observed.document.problem.empty()) document["problem"] = observed.document.problem;
  nlohmann::json publish = nullptr;
  if (plan.publish.has_value()) {
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& t : plan.publish->mount_targets) ids.push_back(t.id);
    publish = {{"generation", plan.publish->generation}, {"mount_targets", ids}};
  }
  nlohmann::json subnets = nlohmann::json::array();
  for (const auto& s : creation_order(observed.subnets)) {
    subnets.push_back({{"id", s.id},
                       {"availability_zone", s.availability_zone},
                       {"available_ip_addresses", s.available_ip_addresses}});
  }
  return {{"file_system_id", observed.file_system_id},
          {"dry_run", dry_run},
          {"scan",
           {{"files", observed.scan.files},
            {"errors", observed.scan.errors},
            {"seconds", observed.scan.seconds},
            {"complete", observed.scan.complete}}},
          {"mount_targets", targets_json(observed.mount_targets)},
          {"candidate_subnets", subnets},
          {"document", document},
          {"desired_mount_targets", plan.desired_mount_targets},
          {"current_mount_targets", plan.current_mount_targets},
          {"scaling_allowed", plan.scaling_allowed},
          {"planned_creates", planned},
          {"planned_publish", publish},
          {"created", targets_json(created)},
          {"conflicts", conflicts},
          {"published", published},
          {"published_generation", published_generation},
          {"ecs_deployment_forced", ecs_deployment_forced},
          {"notes", plan.notes},
          {"errors", errors}};
}

std::string emf_line(const RunReport& report, const std::string& file_system_id, SystemTime now) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& [name, unit] :
       {std::pair{"FileCount", "Count"}, std::pair{"MountTargets", "Count"},
        std::pair{"DesiredMountTargets", "Count"}, std::pair{"ScanSeconds", "Seconds"},
        std::pair{"ScanErrors", "Count"}}) {
    metrics.push_back({{"Name", name}, {"Unit", unit}});
  }
  const auto mount_targets =
      static_cast<std::uint64_t>(report.plan.current_mount_targets) + report.created.size();
  nlohmann::json line = {
      {"_aws",
       {{"Timestamp", ms},
        {"CloudWatchMetrics",
         nlohmann::json::array({{{"Namespace", "EfsMountAutoscaling"},
                                 {"Dimensions", nlohmann::json::array({{"FileSystemId"}})},
                                 {"Metrics", metrics}}})}}},
      {"FileSystemId", file_system_id},
      {"FileCount", report.observed.scan.files},
      {"MountTargets", mount_targets},
      {"DesiredMountTargets", report.plan.desired_mount_targets},
      {"ScanSeconds", report.observed.scan.seconds},
      {"ScanErrors", report.observed.scan.errors}};
  return line.dump();
}

}  // namespace efsas::monitor
