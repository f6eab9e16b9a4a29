// An in-memory CloudApi for reconcile tests: EFS, EC2, SSM and ECS as a few maps, with hooks
// that let a test act behind a run's back (other runs, other writers, failing calls), and the
// parameter's full history. Enforces EFS's one-mount-target-per-AZ rule.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "efsas/monitor/cloud.h"

namespace efsas::monitor::testing {

inline constexpr const char* kFs = "fs-0123abcd";

// EFS, EC2, SSM and ECS as a few maps; enforces EFS's one-target-per-AZ rule.
class FakeCloud final : public CloudApi {
 public:
  std::vector<Subnet> subnets = {{"subnet-0000000a", "us-east-1a", "use1-az1", "vpc-1", 100},
                                 {"subnet-0000000b", "us-east-1b", "use1-az2", "vpc-1", 100},
                                 {"subnet-0000000c", "us-east-1c", "use1-az3", "vpc-1", 100}};
  std::vector<MountTarget> targets;
  std::string new_target_state = "available";
  std::string file_system_state = "available";
  std::string one_zone_az;  // set: a One Zone file system in this AZ
  // The next CreateMountTargets create their mount target and then time out, as a call whose
  // answer was lost after the retries.
  int creates_that_time_out = 0;
  // The next DescribeMountTargets leave out the newest mount target, as EFS's listing may for a
  // moment after CreateMountTarget returned.
  int listings_behind = 0;
  std::optional<ParameterValue> parameter;
  std::vector<std::string> puts;
  int deployments = 0;
  int mutations = 0;
  // Called before and after every GetParameter: let a test change the parameter (and the mount
  // targets) behind the run's back.
  std::function<void()> before_get;
  std::function<void()> after_get;
  // Called before every DescribeSubnets and CreateMountTarget: other runs acting.
  std::function<void()> before_describe_subnets;
  std::string fail_subnets;  // an error code every DescribeSubnets answers with, when set
  std::function<void()> before_create;
  // Subnets where CreateMountTarget fails: EFS's error code for each.
  std::map<std::string, std::string> refused;
  bool fail_ecs = false;
  int failing_puts = 0;
  int fail_gets_from = 0;  // GetParameter fails from this call on (0: never)
  int gets_seen = 0;
  // Every version the parameter had, oldest first, including those a test wrote directly.
  std::vector<ParameterValue> history;
  int history_reads = 0;
  bool fail_history = false;
  // AWS's clock: each write and deployment happens a second after the one before.
  SystemTime aws_now = SystemTime(std::chrono::seconds(1'800'000'000));
  std::optional<SystemTime> deployed_at = SystemTime(std::chrono::seconds(1'700'000'000));

  bool fail_describe_file_system = false;
  Result<FileSystemInfo> describe_file_system(const std::string& id) override {
    if (fail_describe_file_system) {
      Error e = make_error(ErrorCode::kRemote, "not authorized to perform DescribeFileSystems");
      e.remote_code = "AccessDeniedException";
      return e;
    }
    return FileSystemInfo{id, "fs", file_system_state, static_cast<int>(targets.size()),
                          one_zone_az};
  }
  Result<std::vector<MountTarget>> describe_mount_targets(const std::string&) override {
    if (listings_behind > 0 && !targets.empty()) {
      --listings_behind;
      return std::vector<MountTarget>(targets.begin(), targets.end() - 1);
    }
    return targets;
  }
  Result<std::vector<Subnet>> describe_subnets(const std::vector<std::string>& ids,
                                               const std::string& vpc) override {
    if (before_describe_subnets) before_describe_subnets();
    if (!fail_subnets.empty()) {
      Error e = make_error(ErrorCode::kRemote, "refused: " + fail_subnets);
      e.remote_code = fail_subnets;
      return e;
    }
    // As EC2: a named subnet that does not exist fails the whole request.
    for (const auto& id : ids) {
      if (std::none_of(subnets.begin(), subnets.end(),
                       [&id](const Subnet& s) { return s.id == id; })) {
        Error e = make_error(ErrorCode::kRemote, "The subnet ID '" + id + "' does not exist");
        e.remote_code = "InvalidSubnetID.NotFound";
        return e;
      }
    }
    std::vector<Subnet> out;
    for (const auto& s : subnets) {
      if ((ids.empty() && s.vpc_id == vpc) ||
          std::find(ids.begin(), ids.end(), s.id) != ids.end()) {
        out.push_back(s);
      }
    }
    return out;
  }
  Result<MountTarget> create_mount_target(const std::string&, const std::string& subnet_id,
                                          const std::vector<std::string>&) override {
    ++mutations;
    if (before_create) before_create();
    if (const auto it = refused.find(subnet_id); it != refused.end()) {
      Error e = make_error(ErrorCode::kRemote, "refused: " + it->second);
      e.remote_code = it->second;
      return e;
    }
    const auto s = std::find_if(subnets.begin(), subnets.end(),
                                [&](const Subnet& x) { return x.id == subnet_id; });
    const auto refuse = [](const char* code, const char* message) {
      Error e = make_error(ErrorCode::kRemote, message);
      e.remote_code = code;
      return e;
    };
    if (file_system_state != "available") {
      return refuse("IncorrectFileSystemLifeCycleState", "file system is not available");
    }
    if (!one_zone_az.empty() && s->availability_zone != one_zone_az) {
      return refuse("AvailabilityZonesMismatch", "subnet is not in the file system's AZ");
    }
    // As EFS: any mount target not yet deleted holds its AZ, one in `error` too.
    for (const auto& t : targets) {
      if (t.availability_zone == s->availability_zone && blocks_az(t.state)) {
        return refuse("MountTargetConflict", "mount target already exists in this AZ");
      }
    }
    char id[32];
    std::snprintf(id, sizeof id, "fsmt-%08zx", targets.size() + 1);
    targets.push_back(MountTarget{id, s->availability_zone, s->availability_zone_id, s->id,
                                  "10.0.0." + std::to_string(targets.size() + 10),
                                  new_target_state});
    if (creates_that_time_out > 0) {
      --creates_that_time_out;
      return make_error(ErrorCode::kTimeout, "CreateMountTarget: operation timed out", true);
    }
    return targets.back();
  }
  Result<std::optional<ParameterValue>> get_parameter(const std::string&) override {
    if (fail_gets_from > 0 && ++gets_seen >= fail_gets_from) {
      Error e = make_error(ErrorCode::kRemote, "Internal server error", true);
      e.remote_code = "InternalServerError";
      return e;
    }
    if (before_get) before_get();
    record_history();
    auto value = parameter;
    if (after_get) after_get();
    record_history();
    return value;
  }
  void record_history() {
    if (parameter && (history.empty() || history.back().version != parameter->version ||
                      history.back().value != parameter->value)) {
      history.push_back(*parameter);
    }
  }
  Result<std::vector<ParameterValue>> parameter_history(const std::string&) override {
    ++history_reads;
    if (fail_history) return make_error(ErrorCode::kPermissionDenied, "AccessDeniedException");
    record_history();
    return history;
  }
  Result<std::int64_t> put_parameter(const std::string&, const std::string& value) override {
    record_history();
    ++mutations;
    if (failing_puts > 0) {
      --failing_puts;
      Error e = make_error(ErrorCode::kRemote, "Internal server error", true);
      e.remote_code = "InternalServerError";
      return e;
    }
    puts.push_back(value);
    const std::int64_t version = parameter ? parameter->version + 1 : 1;
    aws_now += std::chrono::seconds(1);
    parameter = ParameterValue{value, version, aws_now};
    record_history();
    return version;
  }
  Status force_new_deployment(const std::string&, const std::string&) override {
    ++mutations;
    if (fail_ecs) return make_error(ErrorCode::kRemote, "ServiceNotFoundException");
    ++deployments;
    aws_now += std::chrono::seconds(1);
    deployed_at = aws_now;
    return {};
  }
  Result<std::optional<SystemTime>> latest_deployment_start(const std::string&,
                                                            const std::string&) override {
    if (fail_ecs) return make_error(ErrorCode::kRemote, "ServiceNotFoundException");
    return deployed_at;
  }
};

}  // namespace efsas::monitor::testing
