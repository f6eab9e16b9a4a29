// EFS rest-json calls.
#include "efsas/aws/efs.h"

#include <set>

#include "wire.h"

namespace efsas::aws::efs {
namespace {

constexpr std::string_view kFileSystems = "/2015-02-01/file-systems";
constexpr std::string_view kMountTargets = "/2015-02-01/mount-targets";
// What every mount target EFS describes has, and what decisions are made on.
constexpr std::initializer_list<const char*> kMountTargetFields = {
    "MountTargetId", "FileSystemId", "SubnetId", "LifeCycleState", "AvailabilityZoneName"};

FileSystemDescription parse_file_system(const nlohmann::json& json) {
  using detail::num;
  using detail::str;
  FileSystemDescription out;
  out.file_system_id = str(json, "FileSystemId");
  out.file_system_arn = str(json, "FileSystemArn");
  out.owner_id = str(json, "OwnerId");
  out.creation_token = str(json, "CreationToken");
  out.name = str(json, "Name");
  out.life_cycle_state = str(json, "LifeCycleState");
  out.number_of_mount_targets = num<int>(json, "NumberOfMountTargets");
  if (json.contains("SizeInBytes"))
    out.size_in_bytes = num<std::int64_t>(json["SizeInBytes"], "Value");
  out.performance_mode = str(json, "PerformanceMode");
  out.throughput_mode = str(json, "ThroughputMode");
  const auto encrypted = json.find("Encrypted");
  out.encrypted = encrypted != json.end() && encrypted->is_boolean() && encrypted->get<bool>();
  out.availability_zone_name = str(json, "AvailabilityZoneName");
  out.availability_zone_id = str(json, "AvailabilityZoneId");
  return out;
}

MountTargetDescription parse_mount_target(const nlohmann::json& json) {
  using detail::str;
  MountTargetDescription out;
  out.mount_target_id = str(json, "MountTargetId");
  out.file_system_id = str(json, "FileSystemId");
  out.subnet_id = str(json, "SubnetId");
  out.availability_zone_name = str(json, "AvailabilityZoneName");
  out.availability_zone_id = str(json, "AvailabilityZoneId");
  out.ip_address = str(json, "IpAddress");
  out.life_cycle_state = str(json, "LifeCycleState");
  out.network_interface_id = str(json, "NetworkInterfaceId");
  out.vpc_id = str(json, "VpcId");
  out.owner_id = str(json, "OwnerId");
  return out;
}

ApiRequest efs_request(std::string operation, std::string method, std::string path) {
  ApiRequest request;
  request.service = Service::kEfs;
  request.protocol = Protocol::kRestJson;
  request.operation = std::move(operation);
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

template <typename T, typename PageFn>
Result<std::vector<T>> all_pages(PageFn page_fn) {
  std::vector<T> out;
  std::string marker;
  std::set<std::string> seen;  // a marker met again would page round in a circle for good
  do {
    auto page = page_fn(marker);
    if (!page.ok()) return page.error();
    for (auto& item : page->items) out.push_back(std::move(item));
    if (!page->next_marker.empty() && !seen.insert(page->next_marker).second) {
      return make_error(ErrorCode::kDataLoss, "EFS returned the same NextMarker twice");
    }
    marker = page->next_marker;
  } while (!marker.empty());
  return out;
}

}  // namespace

Result<Page<FileSystemDescription>> describe_file_systems_page(
    const AwsClient& client, const DescribeFileSystemsRequest& request, const std::string& marker) {
  ApiRequest api = efs_request("DescribeFileSystems", "GET", std::string(kFileSystems));
  if (request.max_items)
    detail::append_param(api.query, "MaxItems", std::to_string(*request.max_items));
  if (!marker.empty()) detail::append_param(api.query, "Marker", marker);
  if (!request.creation_token.empty()) {
    detail::append_param(api.query, "CreationToken", request.creation_token);
  }
  if (!request.file_system_id.empty()) {
    detail::append_param(api.query, "FileSystemId", request.file_system_id);
  }
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  auto json = detail::parse_json(response->body, api.operation);
  if (!json.ok()) return json.error();
  auto items = detail::member(*json, "FileSystems", &nlohmann::json::is_array, api.operation);
  if (!items.ok()) return items.error();
  Page<FileSystemDescription> page;
  for (const auto& item : **items) {
    if (auto fields = detail::require_strings(item, {"FileSystemId"}, api.operation);
        !fields.ok()) {
      return fields.error();
    }
    page.items.push_back(parse_file_system(item));
  }
  page.next_marker = detail::str(*json, "NextMarker");
  return page;
}

Result<std::vector<FileSystemDescription>> describe_file_systems(
    const AwsClient& client, const DescribeFileSystemsRequest& request) {
  return all_pages<FileSystemDescription>([&](const std::string& marker) {
    return describe_file_systems_page(client, request, marker);
  });
}

Result<Page<MountTargetDescription>> describe_mount_targets_page(
    const AwsClient& client, const DescribeMountTargetsRequest& request,
    const std::string& marker) {
  if (request.file_system_id.empty() && request.mount_target_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "DescribeMountTargets needs a file system id or a mount target id");
  }
  ApiRequest api = efs_request("DescribeMountTargets", "GET", std::string(kMountTargets));
  if (request.max_items)
    detail::append_param(api.query, "MaxItems", std::to_string(*request.max_items));
  if (!marker.empty()) detail::append_param(api.query, "Marker", marker);
  if (!request.file_system_id.empty()) {
    detail::append_param(api.query, "FileSystemId", request.file_system_id);
  }
  if (!request.mount_target_id.empty()) {
    detail::append_param(api.query, "MountTargetId", request.mount_target_id);
  }
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  auto json = detail::parse_json(response->body, api.operation);
  if (!json.ok()) return json.error();
  auto items = detail::member(*json, "MountTargets", &nlohmann::json::is_array, api.operation);
  if (!items.ok()) return items.error();
  Page<MountTargetDescription> page;
  for (const auto& item : **items) {
    if (auto fields = detail::require_strings(item, kMountTargetFields, api.operation);
        !fields.ok()) {
      return fields.error();
    }
    page.items.push_back(parse_mount_target(item));
  }
  page.next_marker = detail::str(*json, "NextMarker");
  return page;
}

Result<std::vector<MountTargetDescription>> describe_mount_targets(
    const AwsClient& client, const DescribeMountTargetsRequest& request) {
  return all_pages<MountTargetDescription>([&](const std::string& marker) {
    return describe_mount_targets_page(client, request, marker);
  });
}

Result<MountTargetDescription> create_mount_target(const AwsClient& client,
                                                   const CreateMountTargetRequest& request) {
  ApiRequest api = efs_request("CreateMountTarget", "POST", std::string(kMountTargets));
  nlohmann::json body = {{"FileSystemId", request.file_system_id}, {"SubnetId", request.subnet_id}};
  if (!request.ip_address.empty()) body["IpAddress"] = request.ip_address;
  if (!request.security_groups.empty()) body["SecurityGroups"] = request.security_groups;
  api.body = body.dump();
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  auto json = detail::parse_json(response->body, api.operation);
  if (!json.ok()) return json.error();
  if (auto fields = detail::require_strings(*json, kMountTargetFields, api.operation);
      !fields.ok()) {
    return fields.error();
  }
  return parse_mount_target(*json);
}

Status delete_mount_target(const AwsClient& client, const std::string& mount_target_id) {
  if (mount_target_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "DeleteMountTarget needs a mount target id");
  }
  ApiRequest api =
      efs_request("DeleteMountTarget", "DELETE",
                  std::string(kMountTargets) + "/" + sigv4::uri_encode(mount_target_id, true));
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  return {};
}

}  // namespace efsas::aws::efs
