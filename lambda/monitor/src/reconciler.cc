// One reconcile run: observe, plan, act, report.
#include "efsas/monitor/reconciler.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <vector>

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

bool subnet_missing(const Error& error) { return error.remote_code == "InvalidSubnetID.NotFound"; }

// The file system's VPC: that of one of its mount targets' subnets (DescribeFileSystems does not
// name it), taken from `known` subnets when it is among them, else asked for. Available mount
// targets are asked about first: the subnet of one being deleted may be gone already.
Result<std::string> file_system_vpc(CloudApi& cloud, const std::vector<MountTarget>& targets,
                                    const std::vector<Subnet>& known) {
  std::vector<const MountTarget*> anchors;
  for (const auto& t : targets) {
    if (t.state == "available") anchors.push_back(&t);
  }
  for (const auto& t : targets) {
    if (t.state != "available") anchors.push_back(&t);
  }
  for (const MountTarget* anchor : anchors) {
    for (const auto& s : known) {
      if (s.id == anchor->subnet_id && !s.vpc_id.empty()) return s.vpc_id;
    }
    auto found = cloud.describe_subnets({anchor->subnet_id}, "");
    if (!found.ok()) {
      if (subnet_missing(found.error())) continue;
      return found.error();
    }
    if (!found->empty() && !found->front().vpc_id.empty()) return found->front().vpc_id;
  }
  return make_error(ErrorCode::kNotFound,
                    "cannot find the VPC of the file system: none of its mount targets' subnets "
                    "exists");
}

// The subnets CANDIDATE_SUBNET_IDS names. EC2 refuses the whole request when one of them no
// longer exists: then each is asked for alone, and those gone are left out, said so.
Result<std::vector<Subnet>> named_subnets(CloudApi& cloud, const std::vector<std::string>& ids,
                                          std::vector<std::string>& notes) {
  auto all = cloud.describe_subnets(ids, "");
  if (all.ok() || !subnet_missing(all.error())) return all;
  std::vector<Subnet> found;
  for (const auto& id : ids) {
    auto one = cloud.describe_subnets({id}, "");
    if (one.ok()) {
      for (auto& s : *one) found.push_back(std::move(s));
    } else if (subnet_missing(one.error())) {
      notes.push_back(id + " (CANDIDATE_SUBNET_IDS) does not exist: left out");
    } else {
      return one.error();
    }
  }
  return found;
}

// EFS refuses a mount target in another VPC than the file system's others, with the same
// MountTargetConflict code as for an AZ already served: such candidates are left out, said so.
Result<std::vector<Subnet>> same_vpc_only(CloudApi& cloud, std::vector<Subnet> subnets,
                                          const std::vector<MountTarget>& targets,
                                          std::vector<std::string>& notes) {
  if (targets.empty()) return subnets;
  auto found = file_system_vpc(cloud, targets, subnets);
  if (!found.ok()) return found.error();
  const std::string& vpc = *found;
  std::vector<Subnet> kept;
  for (auto& s : subnets) {
    if (s.vpc_id == vpc) {
      kept.push_back(std::move(s));
    } else {
      notes.push_back(s.id + " is in " + s.vpc_id + ", the file system's mount targets in " + vpc +
                      ": left out (EFS keeps a file system's mount targets in one VPC)");
    }
  }
  return kept;
}

Result<std::vector<Subnet>> candidate_subnets(CloudApi& cloud, const MonitorConfig& config,
                                              const std::vector<MountTarget>& targets,
                                              std::vector<std::string>& notes) {
  if (!config.candidate_subnet_ids.empty()) {
    auto named = named_subnets(cloud, config.candidate_subnet_ids, notes);
    if (!named.ok()) return named.error();
    return same_vpc_only(cloud, std::move(named).value(), targets, notes);
  }
  if (targets.empty()) {
    return make_error(ErrorCode::kPreconditionFailed,
                      "cannot discover the file system's VPC: it has no mount target yet; "
                      "set CANDIDATE_SUBNET_IDS");
  }
  auto vpc = file_system_vpc(cloud, targets, {});
  if (!vpc.ok()) return vpc.error();
  return cloud.describe_subnets({}, *vpc);
}

// Reads the mount targets again into `latest`; false, with the error reported, when it cannot.
// One this run created that the listing does not show yet is kept: planned again without it, the
// run would try its AZ again.
bool refresh_mount_targets(CloudApi& cloud, const MonitorConfig& config, std::string_view when,
                           Observation& latest, RunReport& report) {
  auto targets = cloud.describe_mount_targets(config.file_system_id);
  if (!targets.ok()) {
    report.errors.push_back("DescribeMountTargets " + std::string(when) + ": " +
                            targets.error().to_string());
    return false;
  }
  latest.mount_targets = std::move(targets).value();
  for (const MountTarget& made : report.created) {
    const bool listed = std::any_of(latest.mount_targets.begin(), latest.mount_targets.end(),
                                    [&](const MountTarget& t) { return t.id == made.id; });
    if (!listed) latest.mount_targets.push_back(made);
  }
  return true;
}

// Whether a failed CreateMountTarget leaves the run free to try the next AZ. Not when the outcome
// is unknown (a timeout or a 5xx after the retries: EFS may have created it, and another in the
// next AZ could pass the desired count), nor when the refusal is about the file system, its
// security groups or the account, which every other subnet would meet too.
bool next_az_may_succeed(const Error& error) {
  if (error.retryable) return false;
  static const std::set<std::string, std::less<>> kWholeRun = {"IncorrectFileSystemLifeCycleState",
                                                               "FileSystemNotFound",
                                                               "NetworkInterfaceLimitExceeded",
                                                               "SecurityGroupNotFound",
                                                               "SecurityGroupLimitExceeded",
                                                               "AccessDeniedException",
                                                               "AccessDenied",
                                                               "UnauthorizedOperation",
                                                               "ThrottlingException",
                                                               "TooManyRequests"};
  return error.code != ErrorCode::kPermissionDenied && kWholeRun.count(error.remote_code) == 0;
}

bool az_occupied(const std::vector<MountTarget>& targets, const std::string& az) {
  return std::any_of(targets.begin(), targets.end(), [&](const MountTarget& t) {
    return t.availability_zone == az && occupies_az(t.state);
  });
}

// Creates what the plan asks for one at a time, each creation planned again from a fresh
// DescribeMountTargets. The mount targets are then never older than the subnets: a racing run's
// creation that took a subnet's last address shows as a mount target in that AZ, not as a full
// subnet to skip for the next AZ (which would pass the desired count). A subnet that fails moves
// the run on to the next AZ. False when the mount targets could not be read. Publishing reads
// them again after the parameter, so they are not read once more here.
bool create_mount_targets(CloudApi& cloud, const MonitorConfig& config, const PlanLimits& limits,
                          const Clock& clock, const Logger& log, Observation& latest,
                          RunReport& report) {
  if (report.plan.creates.empty()) return true;
  auto refresh = [&](std::string_view when) {
    return refresh_mount_targets(cloud, config, when, latest, report);
  };
  PlanLimits one = limits;
  one.max_creates_per_run = 1;
  int done = 0;  // created here, or found created by another run
  const std::size_t attempts = latest.subnets.size() + 1;
  for (std::size_t attempt = 0; attempt < attempts && done < limits.max_creates_per_run;
       ++attempt) {
    if (!refresh("before creating")) return false;
    const Plan step = plan_reconcile(latest, one, clock.now());
    if (step.creates.empty()) break;
    const PlannedCreate& create = step.creates.front();
    auto made = cloud.create_mount_target(config.file_system_id, create.subnet_id,
                                          config.security_group_ids);
    if (made.ok()) {
      log.info("created mount target", {{"mount_target_id", made->id},
                                        {"subnet_id", create.subnet_id},
                                        {"availability_zone", create.availability_zone}});
      report.created.push_back(std::move(made).value());
      ++done;
      continue;
    }
    const Error& error = made.error();
    // EFS answers MountTargetConflict both when the AZ already has a mount target (another run or
    // an operator was first: the goal is met) and when it refuses the subnet for another reason
    // (another VPC): only a mount target now in the AZ tells them apart.
    if (error.remote_code == "MountTargetConflict") {
      if (!refresh("after a conflict")) return false;
      if (az_occupied(latest.mount_targets, create.availability_zone)) {
        log.info("mount target already exists in this AZ",
                 {{"availability_zone", create.availability_zone}, {"error", error.to_string()}});
        report.conflicts.push_back(create.availability_zone);
        ++done;
        continue;
      }
    }
    log.error("CreateMountTarget failed", {{"subnet_id", create.subnet_id},
                                           {"availability_zone", create.availability_zone},
                                           {"error", error.to_string()}});
    report.errors.push_back("CreateMountTarget in " + create.subnet_id + " (" +
                            create.availability_zone + "): " + error.to_string());
    if (!next_az_may_succeed(error)) {
      log.info("no other mount target is tried in this run", {{"error", error.to_string()}});
      break;
    }
    latest.failed_azs.insert(create.availability_zone);
  }
  return true;
}

void force_deployment(CloudApi& cloud, const MonitorConfig& config, RunReport& report) {
  report.plan.force_ecs_deployment = true;
  Status deployed = cloud.force_new_deployment(config.ecs_cluster_name, config.ecs_service_name);
  if (deployed.ok()) {
    report.ecs_deployment_forced = true;
  } else {
    report.errors.push_back("UpdateService forceNewDeployment: " + deployed.error().to_string());
  }
}

// Writes at most this many times when other writers keep coming between a read and a write.
constexpr int kPublishRounds = 3;

// What the versions written after `since`, and before the current document, mean for it.
// Versions readers cannot use (unparseable, another file system's) do not count.
struct WrittenBetween {
  // Readers holding one of them ignore the current document: one has a higher generation, or the
  // same generation with other content.
  bool outranked = false;
  std::uint64_t highest_generation = 0;  // a new document goes above it
};

WrittenBetween written_between(const std::vector<ParameterValue>& history, std::int64_t since,
                               const PublishedDocument& current,
                               const std::string& file_system_id) {
  WrittenBetween out;
  for (const ParameterValue& version : history) {
    if (version.version <= since || version.version >= current.version) continue;
    auto parsed = parse_mount_target_list(version.value);
    if (!parsed.ok() || parsed->file_system_id != file_system_id) continue;
    out.highest_generation = std::max(out.highest_generation, parsed->generation);
    if (current.state != DocumentState::kValid) continue;  // replaced whatever the history
    const std::uint64_t standing = current.list.generation;
    if (parsed->generation > standing ||
        (parsed->generation == standing && !same_content(*parsed, current.list))) {
      out.outranked = true;
    }
  }
  return out;
}

// Publishes from fresh reads: the parameter as it is just before writing, then the mount targets.
// SSM has no conditional write, so the version PutParameter returns tells whether another writer
// came between this run's read and its write. If one did, the run reads the parameter, the mount
// targets and the parameter's history again. It writes again when the document standing does not
// describe what exists, or when a version written in between outranks it (a higher generation, or
// the same one with other content, which readers holding it would keep); then above the
// parameter's version and every generation written in between. Writers that saw the same mount
// targets agree and stop after one round.
void publish(CloudApi& cloud, const MonitorConfig& config, const PlanLimits& limits,
             const Clock& clock, const Logger& log, Observation& latest, RunReport& report) {
  latest.scan.complete = false;  // no creations in these plans
  bool reread = report.plan.publish.has_value() || !report.plan.creates.empty();
  std::optional<std::int64_t> raced_since;  // the version read before a write that was raced
  bool wrote_blind = false;                 // written again once without the history
  for (int writes = 0;; ++writes) {
    if (reread) {
      auto parameter = cloud.get_parameter(config.ssm_parameter_name);
      if (!parameter.ok()) {
        report.errors.push_back("GetParameter before publishing: " + parameter.error().to_string());
        break;
      }
      latest.document = read_document(config.file_system_id, *parameter);
      // After the parameter: the document then never describes mount targets newer than those
      // it is compared with, and a racing run's creation is never published away.
      if (!refresh_mount_targets(cloud, config, "before publishing", latest, report)) break;
    }
    latest.outranked = false;
    if (raced_since.has_value()) {
      auto history = cloud.parameter_history(config.ssm_parameter_name);
      if (history.ok()) {
        const WrittenBetween between =
            written_between(*history, *raced_since, latest.document, config.file_system_id);
        latest.outranked = between.outranked;
        latest.document.generation_floor =
            std::max(latest.document.generation_floor, between.highest_generation);
      } else {
        // Without the history any version in between may outrank the document: it is written
        // again above the parameter's version, once (again each time, racing runs that agree
        // would keep writing above each other).
        report.errors.push_back("GetParameterHistory after a racing write: " +
                                history.error().to_string());
        latest.outranked = !wrote_blind;
        wrote_blind = true;
      }
    }
    const Plan plan = plan_reconcile(latest, limits, clock.now());
    // The report shows what was written last, or that nothing was.
    if (plan.publish.has_value() || !report.published) report.plan.publish = plan.publish;
    if (!plan.publish_problem.empty()) {
      report.errors.push_back(plan.publish_problem);
      break;
    }
    const std::optional<MountTargetList>& document = plan.publish;
    if (!document.has_value()) break;
    if (writes == kPublishRounds) {
      report.errors.push_back("the parameter " + config.ssm_parameter_name + " changed under " +
                              std::to_string(kPublishRounds) +
                              " writes in a row: other writers are racing this run");
      break;
    }

    auto text = serialize_mount_target_list(*document);
    if (!text.ok()) {
      report.errors.push_back("cannot serialise the mount-target document: " +
                              text.error().to_string());
      break;
    }
    if (latest.document.state == DocumentState::kMalformed) {
      log.warn("replacing a malformed mount-target document",
               {{"parameter", config.ssm_parameter_name}, {"problem", latest.document.problem}});
    }
    auto version = cloud.put_parameter(config.ssm_parameter_name, *text);
    if (!version.ok()) {
      report.errors.push_back("PutParameter: " + version.error().to_string());
      break;
    }
    report.published = true;
    report.published_generation = document->generation;
    log.info("published mount-target document", {{"parameter", config.ssm_parameter_name},
                                                 {"generation", report.published_generation},
                                                 {"mount_targets", document->mount_targets.size()},
                                                 {"version", *version}});
    const std::int64_t expected = latest.document.version + 1;
    if (*version == expected) break;
    log.warn(
        "another writer changed the parameter between this run's read and its write: reading "
        "the mount targets and the parameter again",
        {{"parameter", config.ssm_parameter_name},
         {"expected_version", expected},
         {"version", *version}});
    raced_since = latest.document.version;
    reread = true;
  }
  // A document written is deployed, also when a later step of publishing failed.
  if (report.published && limits.force_ecs_deployment) force_deployment(cloud, config, report);
}

// A deployment forced after publishing that failed, or that a run never reached, is made by a
// later run: one is due while the document changed after the service's newest deployment began.
void catch_up_deployment(CloudApi& cloud, const MonitorConfig& config, const Logger& log,
                         const PublishedDocument& document, RunReport& report) {
  if (document.state != DocumentState::kValid || !document.last_modified) return;
  auto started = cloud.latest_deployment_start(config.ecs_cluster_name, config.ecs_service_name);
  if (!started.ok()) {
    report.errors.push_back("DescribeServices: " + started.error().to_string());
    return;
  }
  if (started->has_value() && **started >= *document.last_modified) return;
  log.info(
      "the ECS service has not been deployed since the document last changed: forcing a "
      "deployment",
      {{"generation", document.list.generation},
       {"parameter_last_modified", format_iso8601_ms(*document.last_modified)},
       {"deployment_started",
        started->has_value() ? nlohmann::json(format_iso8601_ms(**started)) : nullptr}});
  force_deployment(cloud, config, report);
}

}  // namespace

PublishedDocument read_document(const std::string& file_system_id,
                                const std::optional<ParameterValue>& parameter) {
  PublishedDocument doc;
  if (!parameter.has_value()) return doc;
  doc.version = std::max<std::int64_t>(0, parameter->version);
  doc.last_modified = parameter->last_modified;
  const auto version = static_cast<std::uint64_t>(doc.version);
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
  // Creating needs the file system's state and kind; publishing does not: a failure here is
  // reported, and the run still publishes what exists.
  auto file_system = cloud.describe_file_system(config.file_system_id);
  if (file_system.ok()) {
    observed.file_system_state = file_system->life_cycle_state;
    observed.one_zone_az = file_system->availability_zone;
  } else {
    observed.file_system_error = "DescribeFileSystems: " + file_system.error().to_string();
  }
  auto targets = cloud.describe_mount_targets(config.file_system_id);
  if (!targets.ok()) return targets.error();
  observed.mount_targets = std::move(targets).value();
  // Publishing needs no subnets: when they cannot be read, the run still publishes what exists,
  // creates nothing, and fails with the reason. A configuration that can never name a subnet
  // (no CANDIDATE_SUBNET_IDS and no mount target to learn the VPC from) is refused as before.
  auto subnets = candidate_subnets(cloud, config, observed.mount_targets, observed.notes);
  if (subnets.ok()) {
    observed.subnets = std::move(subnets).value();
  } else if (subnets.error().code == ErrorCode::kPreconditionFailed) {
    return subnets.error();
  } else {
    observed.subnets_error = "candidate subnets: " + subnets.error().to_string();
  }
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
  if (!report.observed.file_system_error.empty()) {
    report.errors.push_back(report.observed.file_system_error);
  }
  if (!report.observed.subnets_error.empty()) {
    report.errors.push_back(report.observed.subnets_error);
  }
  const PlanLimits limits = limits_from(config);
  report.plan = plan_reconcile(report.observed, limits, clock.now());
  for (const auto& note : report.plan.notes) log.info(note);
  if (config.dry_run) return report;

  Observation latest = report.observed;
  if (create_mount_targets(cloud, config, limits, clock, log, latest, report)) {
    publish(cloud, config, limits, clock, log, latest, report);
    if (!report.published && limits.force_ecs_deployment) {
      catch_up_deployment(cloud, config, log, latest.document, report);
    }
  }
  return report;
}

std::string RunReport::to_text() const {
  std::string out;
  // One line: the label padded to 17 columns, then the text.
  const auto line = [&out](std::string_view label, const std::string& text) {
    out += label;
    out.append(label.size() < 17 ? 17 - label.size() : 1, ' ');
    out += text;
    out += '\n';
  };
  line("file system", observed.file_system_id);
  line("files", std::to_string(observed.scan.files) +
                    (observed.scan.complete ? "" : " (incomplete: no scaling)"));
  line("mount targets", std::to_string(plan.current_mount_targets) + " now, " +
                            std::to_string(plan.desired_mount_targets) + " desired");
  if (dry_run) {
    for (const auto& c : plan.creates) {
      line("would create", "in " + c.availability_zone + " (" + c.subnet_id + ")");
    }
  } else {
    for (const auto& t : created) {
      line("created", t.id + " in " + t.availability_zone + " (" + t.subnet_id + ")");
    }
    for (const auto& az : conflicts) line("already created", "in " + az + " (by another run)");
  }
  if (plan.publish.has_value()) {
    line(dry_run ? "would publish" : (published ? "published" : "not published"),
         "generation " + std::to_string(plan.publish->generation) + " with " +
             std::to_string(plan.publish->mount_targets.size()) + " mount target(s)");
  } else {
    line("document", "unchanged");
  }
  // What was done, not what was first planned: a run that finds its document already published by
  // another run redeploys nothing, and one that makes up for an earlier failed redeploy does.
  if (dry_run) {
    if (plan.force_ecs_deployment) out += "would redeploy ECS service\n";
  } else if (ecs_deployment_forced) {
    out += "redeployed ECS service\n";
  } else if (published && plan.force_ecs_deployment) {
    out += "ECS redeploy failed\n";
  }
  for (const auto& note : plan.notes) line("note", note);
  for (const auto& error : errors) line("error", error);
  return out;
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
            {"complete", observed.scan.complete},
            {"cache", observed.scan.cache},
            {"directories_read", observed.scan.directories_read},
            {"directories_reused", observed.scan.directories_reused}}},
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

std::string emf_line(const std::string& file_system_id, const ScanSummary& scan,
                     const RunReport* report, SystemTime now) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  nlohmann::json line = {{"FileSystemId", file_system_id}};
  nlohmann::json metrics = nlohmann::json::array();
  const auto add = [&](const char* name, const char* unit, nlohmann::json value) {
    metrics.push_back({{"Name", name}, {"Unit", unit}});
    line[name] = std::move(value);
  };
  if (scan.complete) add("FileCount", "Count", scan.files);
  if (report != nullptr) {
    // A conflict is an AZ that has a mount target now: made by another run, or by this run's own
    // create when a retry of it (after a lost answer) met the one the first attempt made.
    add("MountTargets", "Count",
        static_cast<std::uint64_t>(report->plan.current_mount_targets) + report->created.size() +
            report->conflicts.size());
    if (scan.complete) add("DesiredMountTargets", "Count", report->plan.desired_mount_targets);
  }
  add("ScanSeconds", "Seconds", scan.seconds);
  add("ScanErrors", "Count", scan.errors);
  add("ScanComplete", "Count", scan.complete ? 1 : 0);
  add("RunErrors", "Count", report != nullptr ? report->errors.size() : std::size_t{1});
  line["_aws"] = {
      {"Timestamp", ms},
      {"CloudWatchMetrics",
       nlohmann::json::array({{{"Namespace", "EfsMountAutoscaling"},
                               {"Dimensions", nlohmann::json::array({{"FileSystemId"}})},
                               {"Metrics", metrics}}})}};
  return line.dump();
}

}  // namespace efsas::monitor
