// ECS JSON 1.1 calls.
#include "efsas/aws/ecs.h"

#include "wire.h"

namespace efsas::aws::ecs {
namespace {

ApiRequest json_request(std::string operation, const nlohmann::json& body) {
  ApiRequest request;
  request.service = efsas::aws::Service::kEcs;
  request.protocol = Protocol::kJson11;
  request.operation = std::move(operation);
  request.body = body.dump();
  return request;
}

Service parse_service(const nlohmann::json& json) {
  using detail::num;
  using detail::str;
  Service out;
  out.service_arn = str(json, "serviceArn");
  out.service_name = str(json, "serviceName");
  out.cluster_arn = str(json, "clusterArn");
  out.status = str(json, "status");
  out.task_definition = str(json, "taskDefinition");
  out.desired_count = num<int>(json, "desiredCount");
  out.running_count = num<int>(json, "runningCount");
  out.pending_count = num<int>(json, "pendingCount");
  if (json.contains("deployments") && json["deployments"].is_array()) {
    for (const auto& item : json["deployments"]) {
      out.deployments.push_back(
          Deployment{str(item, "id"), str(item, "status"), str(item, "taskDefinition"),
                     num<int>(item, "desiredCount"), num<int>(item, "runningCount"),
                     num<int>(item, "pendingCount"), str(item, "rolloutState"),
                     detail::epoch_time(item, "createdAt")});
    }
  }
  return out;
}

}  // namespace

Result<Service> update_service(const AwsClient& client, const UpdateServiceRequest& request) {
  nlohmann::json body = {{"service", request.service},
                         {"forceNewDeployment", request.force_new_deployment}};
  if (!request.cluster.empty()) body["cluster"] = request.cluster;
  const ApiRequest api = json_request("UpdateService", body);
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  auto json = detail::parse_json(response->body, api.operation);
  if (!json.ok()) return json.error();
  auto service = detail::member(*json, "service", &nlohmann::json::is_object, api.operation);
  if (!service.ok()) return service.error();
  return parse_service(**service);
}

Result<DescribeServicesResult> describe_services(const AwsClient& client,
                                                 const std::string& cluster,
                                                 const std::vector<std::string>& services) {
  nlohmann::json body = {{"services", services}};
  if (!cluster.empty()) body["cluster"] = cluster;
  const ApiRequest api = json_request("DescribeServices", body);
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  auto json = detail::parse_json(response->body, api.operation);
  if (!json.ok()) return json.error();
  auto listed = detail::member(*json, "services", &nlohmann::json::is_array, api.operation);
  if (!listed.ok()) return listed.error();
  DescribeServicesResult out;
  for (const auto& item : **listed) out.services.push_back(parse_service(item));
  if (json->contains("failures") && (*json)["failures"].is_array()) {
    for (const auto& item : (*json)["failures"]) {
      out.failures.push_back(Failure{detail::str(item, "arn"), detail::str(item, "reason"),
                                     detail::str(item, "detail")});
    }
  }
  return out;
}

}  // namespace efsas::aws::ecs
