// Amazon ECS calls (JSON 1.1, target AmazonEC2ContainerServiceV20141113), with the wire shapes
// of botocore's model. Thread safety: free functions over a thread-safe AwsClient.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "efsas/aws/client.h"
#include "efsas/clock.h"
#include "efsas/result.h"

namespace efsas::aws::ecs {

struct Deployment {
  std::string id{};
  std::string status{};  // PRIMARY | ACTIVE | INACTIVE
  std::string task_definition{};
  int desired_count = 0;
  int running_count = 0;
  int pending_count = 0;
  std::string rollout_state{};
  std::optional<SystemTime> created_at{};
};

struct Service {
  std::string service_arn{};
  std::string service_name{};
  std::string cluster_arn{};
  std::string status{};
  std::string task_definition{};
  int desired_count = 0;
  int running_count = 0;
  int pending_count = 0;
  std::vector<Deployment> deployments{};
};

struct Failure {
  std::string arn{};
  std::string reason{};  // e.g. MISSING
  std::string detail{};
};

struct UpdateServiceRequest {
  std::string cluster{};  // name or ARN; empty: "default"
  std::string service{};
  bool force_new_deployment = true;
};

Result<Service> update_service(const AwsClient& client, const UpdateServiceRequest& request);

struct DescribeServicesResult {
  std::vector<Service> services{};
  std::vector<Failure> failures{};
};

Result<DescribeServicesResult> describe_services(const AwsClient& client,
                                                 const std::string& cluster,
                                                 const std::vector<std::string>& services);

}  // namespace efsas::aws::ecs
