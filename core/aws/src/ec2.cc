// EC2 query-protocol calls with XML responses.
#include "efsas/aws/ec2.h"

#include <pugixml.hpp>
#include <set>

#include "wire.h"

namespace efsas::aws::ec2 {
namespace {

constexpr std::string_view kApiVersion = "2016-11-15";

ApiRequest query_request(const std::string& action) {
  ApiRequest request;
  request.service = Service::kEc2;
  request.protocol = Protocol::kQuery;
  request.operation = action;  // method POST and path "/" are ApiRequest's defaults
  detail::append_param(request.body, "Action", action);
  detail::append_param(request.body, "Version", kApiVersion);
  return request;
}

// EC2 flattens lists: SubnetId.1=..., Filter.1.Name=..., Filter.1.Value.1=...
void append_list(std::string& body, const std::string& name,
                 const std::vector<std::string>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    detail::append_param(body, name + "." + std::to_string(i + 1), values[i]);
  }
}

void append_filters(std::string& body, const std::vector<Filter>& filters) {
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const std::string prefix = "Filter." + std::to_string(i + 1);
    detail::append_param(body, prefix + ".Name", filters[i].name);
    append_list(body, prefix + ".Value", filters[i].values);
  }
}

Result<pugi::xml_node> load(pugi::xml_document& doc, const std::string& body,
                            const std::string& action) {
  if (!doc.load_buffer(body.data(), body.size())) {
    return make_error(ErrorCode::kDataLoss, action + " returned a body that is not XML");
  }
  return doc.document_element();
}

std::string text(const pugi::xml_node& node, const char* name) {
  return node.child(name).text().as_string();
}

}  // namespace

Result<SubnetPage> describe_subnets_page(const AwsClient& client,
                                         const DescribeSubnetsRequest& request,
                                         const std::string& next_token) {
  ApiRequest api = query_request("DescribeSubnets");
  append_filters(api.body, request.filters);
  append_list(api.body, "SubnetId", request.subnet_ids);
  if (request.max_results) {
    detail::append_param(api.body, "MaxResults", std::to_string(*request.max_results));
  }
  if (!next_token.empty()) detail::append_param(api.body, "NextToken", next_token);
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  pugi::xml_document doc;
  auto root = load(doc, response->body, api.operation);
  if (!root.ok()) return root.error();
  if (!root->child("subnetSet")) return detail::missing_member(api.operation, "the subnetSet list");
  SubnetPage page;
  for (const auto& item : root->child("subnetSet").children("item")) {
    Subnet subnet;
    subnet.subnet_id = text(item, "subnetId");
    subnet.availability_zone = text(item, "availabilityZone");
    subnet.availability_zone_id = text(item, "availabilityZoneId");
    subnet.vpc_id = text(item, "vpcId");
    subnet.cidr_block = text(item, "cidrBlock");
    subnet.state = text(item, "state");
    subnet.available_ip_address_count = item.child("availableIpAddressCount").text().as_int();
    subnet.default_for_az = item.child("defaultForAz").text().as_bool();
    if (subnet.subnet_id.empty() || subnet.availability_zone.empty()) {
      return detail::missing_member(api.operation, "the fields subnetId and availabilityZone");
    }
    page.subnets.push_back(std::move(subnet));
  }
  page.next_token = text(*root, "nextToken");
  return page;
}

Result<std::vector<Subnet>> describe_subnets(const AwsClient& client,
                                             const DescribeSubnetsRequest& request) {
  std::vector<Subnet> out;
  std::string token;
  std::set<std::string> seen;  // a token met again would page round in a circle for good
  do {
    auto page = describe_subnets_page(client, request, token);
    if (!page.ok()) return page.error();
    for (auto& subnet : page->subnets) out.push_back(std::move(subnet));
    if (!page->next_token.empty() && !seen.insert(page->next_token).second) {
      return make_error(ErrorCode::kDataLoss, "EC2 returned the same NextToken twice");
    }
    token = page->next_token;
  } while (!token.empty());
  return out;
}

Result<std::vector<AvailabilityZone>> describe_availability_zones(
    const AwsClient& client, const DescribeAvailabilityZonesRequest& request) {
  ApiRequest api = query_request("DescribeAvailabilityZones");
  append_filters(api.body, request.filters);
  append_list(api.body, "ZoneName", request.zone_names);
  append_list(api.body, "ZoneId", request.zone_ids);
  if (request.all_availability_zones)
    detail::append_param(api.body, "AllAvailabilityZones", "true");
  auto response = client.call(api);
  if (!response.ok()) return response.error();
  pugi::xml_document doc;
  auto root = load(doc, response->body, api.operation);
  if (!root.ok()) return root.error();
  if (!root->child("availabilityZoneInfo")) {
    return detail::missing_member(api.operation, "the availabilityZoneInfo list");
  }
  std::vector<AvailabilityZone> out;
  for (const auto& item : root->child("availabilityZoneInfo").children("item")) {
    AvailabilityZone zone;
    zone.zone_name = text(item, "zoneName");
    zone.zone_id = text(item, "zoneId");
    zone.region_name = text(item, "regionName");
    zone.state = text(item, "zoneState");
    zone.zone_type = text(item, "zoneType");
    out.push_back(std::move(zone));
  }
  return out;
}

}  // namespace efsas::aws::ec2
