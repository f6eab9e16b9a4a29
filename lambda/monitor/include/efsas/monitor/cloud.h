// The AWS calls a reconcile run makes, as one narrow interface: implemented over the project's
// AWS client (make_aws_cloud) and, in tests, by in-memory fakes that can show states moto cannot
// (a mount target still `creating`). Thread safety: implementations may be used from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/monitor/planner.h"
#include "efsas/mount_target_list.h"
#include "efsas/result.h"

namespace efsas::aws {
class AwsClient;
}

namespace efsas::monitor {

struct FileSystemInfo {
  std::string id;
  std::string name;
  std::string life_cycle_state;
  int number_of_mount_targets = 0;
  std::string availability_zone;  // a One Zone file system's AZ; empty for a Regional one
};

struct ParameterValue {
  std::string value;
  std::int64_t version = 0;
  std::optional<SystemTime> last_modified;
};

class CloudApi {
 public:
  virtual ~CloudApi() = default;

  virtual Result<FileSystemInfo> describe_file_system(const std::string& file_system_id) = 0;
  // Every mount target of the file system, in every state.
  virtual Result<std::vector<MountTarget>> describe_mount_targets(
      const std::string& file_system_id) = 0;
  // The subnets named, or when `subnet_ids` is empty every subnet of `vpc_id`.
  virtual Result<std::vector<Subnet>> describe_subnets(const std::vector<std::string>& subnet_ids,
                                                       const std::string& vpc_id) = 0;
  // Errors keep the AWS code in Error::remote_code (MountTargetConflict, ...).
  virtual Result<MountTarget> create_mount_target(
      const std::string& file_system_id, const std::string& subnet_id,
      const std::vector<std::string>& security_group_ids) = 0;
  // nullopt when the parameter does not exist.
  virtual Result<std::optional<ParameterValue>> get_parameter(const std::string& name) = 0;
  // Every version of the parameter that Parameter Store keeps, oldest first; empty when it does
  // not exist.
  virtual Result<std::vector<ParameterValue>> parameter_history(const std::string& name) = 0;
  // Creates or overwrites; returns the parameter's new version.
  virtual Result<std::int64_t> put_parameter(const std::string& name, const std::string& value) = 0;
  virtual Status force_new_deployment(const std::string& cluster, const std::string& service) = 0;
  // When the service's newest deployment began; nullopt when it has none. kNotFound when there
  // is no such service.
  virtual Result<std::optional<SystemTime>> latest_deployment_start(const std::string& cluster,
                                                                    const std::string& service) = 0;
  // Calls made from now on end by `deadline` (nullopt: no deadline) and log to `log`: on Lambda,
  // the invocation's deadline, so that a hung connection cannot outlast it and lose the run's
  // report, and its logger, so that the calls' lines carry its request id.
  virtual void scope_to(std::optional<SteadyTime> deadline, const Logger& log) {
    (void)deadline;
    (void)log;
  }
};

// CloudApi over efsas_aws (EFS, EC2, SSM and ECS calls through one client).
std::unique_ptr<CloudApi> make_aws_cloud(std::shared_ptr<const aws::AwsClient> client);

}  // namespace efsas::monitor
