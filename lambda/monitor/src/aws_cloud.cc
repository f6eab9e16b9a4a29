// CloudApi over the project's AWS client: each method is one typed call (or a short sequence)
// translated into the monitor's value types.
#include <utility>

#include "efsas/aws/client.h"
#include "efsas/aws/ec2.h"
#include "efsas/aws/ecs.h"
#include "efsas/aws/efs.h"
#include "efsas/aws/ssm.h"
#include "efsas/monitor/cloud.h"

namespace efsas::monitor {
namespace {

MountTarget to_mount_target(const aws::efs::MountTargetDescription& d) {
  return MountTarget{d.mount_target_id,      d.availability_zone_name,
                     d.availability_zone_id, d.subnet_id,
                     d.ip_address,           d.life_cycle_state};
}

ParameterValue to_parameter_value(aws::ssm::Parameter&& p) {
  return ParameterValue{std::move(p.value), p.version, p.last_modified};
}

// A parameter that does not exist (yet) is not an error to the reconciler: it creates it.
bool parameter_missing(const Error& error) { return error.remote_code == "ParameterNotFound"; }

class AwsCloud final : public CloudApi {
 public:
  explicit AwsCloud(std::shared_ptr<const aws::AwsClient> client)
      : base_(std::move(client)), client_(base_) {}

  void scope_to(std::optional<SteadyTime> deadline, const Logger& log) override {
    aws::AwsClient scoped = base_->with_logger(log);
    if (deadline) scoped = scoped.with_deadline(*deadline);
    client_ = std::make_shared<const aws::AwsClient>(std::move(scoped));
  }

  Result<FileSystemInfo> describe_file_system(const std::string& file_system_id) override {
    aws::efs::DescribeFileSystemsRequest request;
    request.file_system_id = file_system_id;
    auto systems = aws::efs::describe_file_systems(*client_, request);
    if (!systems.ok()) return systems.error();
    if (systems->empty()) {
      return make_error(ErrorCode::kNotFound, "file system " + file_system_id + " not found");
    }
    const auto& fs = systems->front();
    return FileSystemInfo{fs.file_system_id, fs.name, fs.life_cycle_state,
                          fs.number_of_mount_targets, fs.availability_zone_name};
  }

  Result<std::vector<MountTarget>> describe_mount_targets(
      const std::string& file_system_id) override {
    aws::efs::DescribeMountTargetsRequest request;
    request.file_system_id = file_system_id;
    auto described = aws::efs::describe_mount_targets(*client_, request);
    if (!described.ok()) return described.error();
    std::vector<MountTarget> out;
    for (const auto& d : *described) out.push_back(to_mount_target(d));
    return out;
  }

  Result<std::vector<Subnet>> describe_subnets(const std::vector<std::string>& subnet_ids,
                                               const std::string& vpc_id) override {
    aws::ec2::DescribeSubnetsRequest request;
    request.subnet_ids = subnet_ids;
    if (subnet_ids.empty()) request.filters.push_back({"vpc-id", {vpc_id}});
    auto described = aws::ec2::describe_subnets(*client_, request);
    if (!described.ok()) return described.error();
    std::vector<Subnet> out;
    for (const auto& s : *described) {
      out.push_back(Subnet{s.subnet_id, s.availability_zone, s.availability_zone_id, s.vpc_id,
                           s.available_ip_address_count});
    }
    return out;
  }

  Result<MountTarget> create_mount_target(
      const std::string& file_system_id, const std::string& subnet_id,
      const std::vector<std::string>& security_group_ids) override {
    aws::efs::CreateMountTargetRequest request;
    request.file_system_id = file_system_id;
    request.subnet_id = subnet_id;
    request.security_groups = security_group_ids;
    auto created = aws::efs::create_mount_target(*client_, request);
    if (!created.ok()) return created.error();
    return to_mount_target(*created);
  }

  Result<std::optional<ParameterValue>> get_parameter(const std::string& name) override {
    auto parameter = aws::ssm::get_parameter(*client_, name);
    if (!parameter.ok()) {
      if (parameter_missing(parameter.error())) return std::optional<ParameterValue>();
      return parameter.error();
    }
    return std::optional<ParameterValue>(to_parameter_value(std::move(parameter).value()));
  }

  Result<std::vector<ParameterValue>> parameter_history(const std::string& name) override {
    auto history = aws::ssm::get_parameter_history(*client_, name);
    if (!history.ok()) {
      if (parameter_missing(history.error())) return std::vector<ParameterValue>();
      return history.error();
    }
    std::vector<ParameterValue> out;
    out.reserve(history->size());
    for (auto& version : *history) out.push_back(to_parameter_value(std::move(version)));
    return out;
  }

  Result<std::int64_t> put_parameter(const std::string& name, const std::string& value) override {
    aws::ssm::PutParameterRequest request;
    request.name = name;
    request.value = value;
    request.type = "String";
    request.description = "EFS mount targets for file-service (written by file-monitor)";
    request.overwrite = true;
    auto put = aws::ssm::put_parameter(*client_, request);
    if (!put.ok()) return put.error();
    return put->version;
  }

  Status force_new_deployment(const std::string& cluster, const std::string& service) override {
    aws::ecs::UpdateServiceRequest request;
    request.cluster = cluster;
    request.service = service;
    request.force_new_deployment = true;
    auto updated = aws::ecs::update_service(*client_, request);
    if (!updated.ok()) return updated.error();
    return {};
  }

  Result<std::optional<SystemTime>> latest_deployment_start(const std::string& cluster,
                                                            const std::string& service) override {
    auto described = aws::ecs::describe_services(*client_, cluster, {service});
    if (!described.ok()) return described.error();
    if (described->services.empty()) {
      const std::string reason =
          described->failures.empty() ? "" : " (" + described->failures.front().reason + ")";
      return make_error(ErrorCode::kNotFound,
                        "ECS service " + service + " not found in cluster " + cluster + reason);
    }
    std::optional<SystemTime> latest;
    for (const auto& deployment : described->services.front().deployments) {
      if (deployment.created_at && (!latest || *deployment.created_at > *latest)) {
        latest = deployment.created_at;
      }
    }
    return latest;
  }

 private:
  std::shared_ptr<const aws::AwsClient> base_;
  std::shared_ptr<const aws::AwsClient> client_;
};

}  // namespace

std::unique_ptr<CloudApi> make_aws_cloud(std::shared_ptr<const aws::AwsClient> client) {
  return std::make_unique<AwsCloud>(std::move(client));
}

}  // namespace efsas::monitor
