// Amazon EC2 calls (query protocol, API 2016-11-15, XML responses), with the wire shapes of
// botocore's model. Thread safety: free functions over a thread-safe AwsClient.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "efsas/aws/client.h"
#include "efsas/result.h"

namespace efsas::aws::ec2 {

struct Filter {
  std::string name{};  // e.g. "vpc-id", "availability-zone"
  std::vector<std::string> values{};
};

struct Subnet {
  std::string subnet_id{};
  std::string availability_zone{};
  std::string availability_zone_id{};
  std::string vpc_id{};
  std::string cidr_block{};
  std::string state{};
  int available_ip_address_count = 0;
  bool default_for_az = false;
};

struct AvailabilityZone {
  std::string zone_name{};
  std::string zone_id{};
  std::string region_name{};
  std::string state{};  // zoneState: available | ...
  std::string zone_type{};
};

struct DescribeSubnetsRequest {
  std::vector<std::string> subnet_ids{};
  std::vector<Filter> filters{};
  std::optional<int> max_results{};  // page size (5..1000 on AWS); every page is fetched
};

struct SubnetPage {
  std::vector<Subnet> subnets{};
  std::string next_token{};  // empty on the last page
};

Result<SubnetPage> describe_subnets_page(const AwsClient& client,
                                         const DescribeSubnetsRequest& request,
                                         const std::string& next_token);
// Follows NextToken to the end.
Result<std::vector<Subnet>> describe_subnets(const AwsClient& client,
                                             const DescribeSubnetsRequest& request);

struct DescribeAvailabilityZonesRequest {
  std::vector<std::string> zone_names{};
  std::vector<std::string> zone_ids{};
  std::vector<Filter> filters{};
  bool all_availability_zones = false;
};

Result<std::vector<AvailabilityZone>> describe_availability_zones(
    const AwsClient& client, const DescribeAvailabilityZonesRequest& request);

}  // namespace efsas::aws::ec2
