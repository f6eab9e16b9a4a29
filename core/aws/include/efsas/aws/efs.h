// Amazon EFS calls (rest-json, API 2015-02-01), with the wire shapes of botocore's model.
// Thread safety: free functions over a thread-safe AwsClient.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "efsas/aws/client.h"
#include "efsas/result.h"

namespace efsas::aws::efs {

struct FileSystemDescription {
  std::string file_system_id{};
  std::string file_system_arn{};
  std::string owner_id{};
  std::string creation_token{};
  std::string name{};
  std::string life_cycle_state{};  // creating | available | updating | deleting | deleted | error
  int number_of_mount_targets = 0;
  std::int64_t size_in_bytes = 0;
  std::string performance_mode{};
  std::string throughput_mode{};
  bool encrypted = false;
  // Set for a One Zone file system only: the AZ it lives in, the one AZ that can hold its mount
  // target.
  std::string availability_zone_name{};
  std::string availability_zone_id{};
};

struct MountTargetDescription {
  std::string mount_target_id{};
  std::string file_system_id{};
  std::string subnet_id{};
  std::string availability_zone_name{};
  std::string availability_zone_id{};
  std::string ip_address{};
  std::string life_cycle_state{};
  std::string network_interface_id{};
  std::string vpc_id{};
  std::string owner_id{};
};

struct DescribeFileSystemsRequest {
  std::string file_system_id{};  // empty: all
  std::string creation_token{};
  std::optional<int> max_items{};  // page size; every page is fetched
};

struct DescribeMountTargetsRequest {
  std::string file_system_id{};  // one of file_system_id / mount_target_id
  std::string mount_target_id{};
  std::optional<int> max_items{};  // page size; every page is fetched
};

struct CreateMountTargetRequest {
  std::string file_system_id{};
  std::string subnet_id{};
  std::string ip_address{};                    // empty: any free address
  std::vector<std::string> security_groups{};  // empty: the VPC's default group
};

// One page and the marker of the next (empty on the last page).
template <typename T>
struct Page {
  std::vector<T> items{};
  std::string next_marker{};
};

Result<Page<FileSystemDescription>> describe_file_systems_page(
    const AwsClient& client, const DescribeFileSystemsRequest& request, const std::string& marker);
// Follows NextMarker to the end.
Result<std::vector<FileSystemDescription>> describe_file_systems(
    const AwsClient& client, const DescribeFileSystemsRequest& request);

Result<Page<MountTargetDescription>> describe_mount_targets_page(
    const AwsClient& client, const DescribeMountTargetsRequest& request, const std::string& marker);
// Follows NextMarker to the end.
Result<std::vector<MountTargetDescription>> describe_mount_targets(
    const AwsClient& client, const DescribeMountTargetsRequest& request);

// Errors: MountTargetConflict, SubnetNotFound, FileSystemNotFound, ... (Error::remote_code).
Result<MountTargetDescription> create_mount_target(const AwsClient& client,
                                                   const CreateMountTargetRequest& request);
Status delete_mount_target(const AwsClient& client, const std::string& mount_target_id);

}  // namespace efsas::aws::efs
