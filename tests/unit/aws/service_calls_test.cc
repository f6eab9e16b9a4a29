// Wire shapes of the typed calls against a loopback server playing the service: what is sent
// (method, path, query, form or JSON body) and how pages are followed.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "efsas/aws/ec2.h"
#include "efsas/aws/ecs.h"
#include "efsas/aws/efs.h"
#include "efsas/aws/ssm.h"
#include "efsas/testing/fault_proxy.h"

namespace efsas::aws {
namespace {

using efsas::testing::http_response;
using efsas::testing::LoopbackHttpServer;
using efsas::testing::RecordedRequest;

std::unique_ptr<AwsClient> client_for(const LoopbackHttpServer& server) {
  AwsClientConfig config;
  config.region = "us-east-1";
  for (const auto service : {Service::kEfs, Service::kEc2, Service::kSsm, Service::kEcs}) {
    config.endpoints[service] = parse_endpoint_url(server.endpoint()).value();
  }
  config.credentials = make_static_provider({"AKID", "secret", "", std::nullopt});
  config.transport = make_curl_transport();
  config.clock = std::make_shared<ManualClock>();
  config.random = [] { return 0.0; };
  return std::make_unique<AwsClient>(std::move(config));
}

std::string subnet_page(int index, const std::string& next_token) {
  std::string xml =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeSubnetsResponse "
      "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><subnetSet>"
      "<item><subnetId>subnet-" +
      std::to_string(index) +
      "</subnetId><state>available</state>"
      "<vpcId>vpc-1</vpcId><cidrBlock>10.0." +
      std::to_string(index) +
      ".0/24</cidrBlock>"
      "<availableIpAddressCount>251</availableIpAddressCount><availabilityZone>us-east-1a"
      "</availabilityZone><availabilityZoneId>use1-az6</availabilityZoneId><defaultForAz>false"
      "</defaultForAz></item></subnetSet>";
  if (!next_token.empty()) xml += "<nextToken>" + next_token + "</nextToken>";
  return xml + "</DescribeSubnetsResponse>";
}

TEST(Ec2Calls, DescribeSubnetsSendsFiltersAndFollowsNextToken) {
  LoopbackHttpServer server([](const RecordedRequest& r) -> std::optional<std::string> {
    if (r.body.find("NextToken=page%2F3") != std::string::npos)
      return http_response(200, subnet_page(3, ""));
    if (r.body.find("NextToken=page2") != std::string::npos)
      return http_response(200, subnet_page(2, "page/3"));
    return http_response(200, subnet_page(1, "page2"));
  });
  auto client = client_for(server);
  auto subnets =
      ec2::describe_subnets(*client, {.filters = {{"vpc-id", {"vpc-1"}}}, .max_results = 5});
  ASSERT_TRUE(subnets.ok()) << subnets.error().to_string();
  ASSERT_EQ(subnets->size(), 3u);
  EXPECT_EQ((*subnets)[2].subnet_id, "subnet-3");
  EXPECT_EQ((*subnets)[0].availability_zone_id, "use1-az6");
  EXPECT_EQ((*subnets)[0].available_ip_address_count, 251);
  EXPECT_EQ((*subnets)[0].cidr_block, "10.0.1.0/24");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].body,
            "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1"
            "&MaxResults=5");
  EXPECT_EQ(requests[2].body.substr(requests[2].body.find("&NextToken")), "&NextToken=page%2F3");
}

TEST(Ec2Calls, ARepeatedNextTokenStopsInsteadOfLoopingForever) {
  LoopbackHttpServer server([](const RecordedRequest&) -> std::optional<std::string> {
    return http_response(200, subnet_page(1, "same"));
  });
  auto subnets = ec2::describe_subnets(*client_for(server), {});
  ASSERT_FALSE(subnets.ok());
  EXPECT_EQ(subnets.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(server.request_count(), 2u);
}

// So does a circle of tokens longer than one: A, B, A, ...
TEST(Ec2Calls, NextTokensGoingRoundInACircleStop) {
  LoopbackHttpServer server([](const RecordedRequest& r) -> std::optional<std::string> {
    if (r.body.find("NextToken=A") != std::string::npos)
      return http_response(200, subnet_page(2, "B"));
    return http_response(200, subnet_page(1, "A"));
  });
  auto subnets = ec2::describe_subnets(*client_for(server), {});
  ASSERT_FALSE(subnets.ok());
  EXPECT_EQ(subnets.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(EfsCalls, RestJsonPathsQueriesAndBodies) {
  LoopbackHttpServer server([](const RecordedRequest& r) -> std::optional<std::string> {
    if (r.method == "DELETE") return http_response(204, "");
    if (r.method == "POST") {
      auto body = nlohmann::json::parse(r.body);
      body["MountTargetId"] = "fsmt-1";
      body["LifeCycleState"] = "creating";
      body["AvailabilityZoneName"] = "us-east-1a";
      return http_response(200, body.dump());
    }
    return http_response(200, R"({"MountTargets":[]})");
  });
  auto client = client_for(server);
  auto created = efs::create_mount_target(*client, {"fs-1", "subnet-1", "10.0.0.9", {"sg-1"}});
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ(created->mount_target_id, "fsmt-1");
  EXPECT_EQ(created->life_cycle_state, "creating");
  ASSERT_TRUE(efs::delete_mount_target(*client, "fsmt-1").ok());
  ASSERT_TRUE(
      efs::describe_mount_targets(*client, {.file_system_id = "fs-1", .max_items = 10}).ok());
  EXPECT_FALSE(efs::describe_mount_targets(*client, {}).ok());  // needs an id: nothing sent

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, "/2015-02-01/mount-targets");
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            nlohmann::json::parse(R"({"FileSystemId":"fs-1","SubnetId":"subnet-1",
                                      "IpAddress":"10.0.0.9","SecurityGroups":["sg-1"]})"));
  EXPECT_EQ(requests[0].header("Content-Type"), "application/json");
  EXPECT_EQ(requests[1].method, "DELETE");
  EXPECT_EQ(requests[1].target, "/2015-02-01/mount-targets/fsmt-1");
  EXPECT_EQ(requests[1].header("Content-Type"), "");  // no body, no type (not curl's default)
  EXPECT_EQ(requests[2].target, "/2015-02-01/mount-targets?MaxItems=10&FileSystemId=fs-1");
}

// A 200 without the list or the ids the service always sends (a wrong endpoint, a proxy's page)
// must not read as "there are none": file-monitor would publish an empty mount-target list, or
// replace the document under a lower generation.
TEST(AllCalls, AnAnswerWithoutWhatTheServiceAlwaysSendsIsAnError) {
  std::string answer;
  LoopbackHttpServer server([&answer](const RecordedRequest&) -> std::optional<std::string> {
    return http_response(200, answer);
  });
  auto client = client_for(server);
  auto expect_refused = [&](const std::string& body, const auto& call, const char* member) {
    answer = body;
    const auto result = call();
    ASSERT_FALSE(result.ok()) << body << " accepted";
    EXPECT_EQ(result.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(result.error().message.find(member), std::string::npos) << result.error().message;
  };
  const auto mount_targets = [&] {
    return efs::describe_mount_targets(*client, {.file_system_id = "fs-1"});
  };
  expect_refused("{}", mount_targets, "MountTargets");
  expect_refused(R"({"MountTargets":{}})", mount_targets, "MountTargets");
  expect_refused(R"({"MountTargets":[{"MountTargetId":"fsmt-1"}]})", mount_targets, "FileSystemId");
  expect_refused(
      "{}",
      [&] {
        return efs::create_mount_target(*client, {"fs-1", "subnet-1", "", {}});
      },
      "MountTargetId");
  expect_refused(
      "{}", [&] { return efs::describe_file_systems(*client, {}); }, "FileSystems");
  const auto parameter = [&] { return ssm::get_parameter(*client, "/p"); };
  expect_refused("{}", parameter, "Parameter");
  expect_refused(R"({"Parameter":{"Name":"/p","Value":"{}"}})", parameter, "Version");
  const auto history = [&] { return ssm::get_parameter_history(*client, "/p"); };
  expect_refused("{}", history, "Parameters");
  expect_refused(R"({"Parameters":[{"Name":"/p","Value":"{}"}]})", history, "Version");
  expect_refused(R"({"Parameters":[7]})", history, "Name");
  expect_refused(
      "{}",
      [&] {
        return ssm::put_parameter(*client, {"/p", "v", "String", "", true});
      },
      "Version");
  expect_refused(
      "{}",
      [&] {
        return ecs::update_service(*client, {"c", "s", true});
      },
      "service");
  expect_refused(
      "{}", [&] { return ecs::describe_services(*client, "c", {"s"}); }, "services");
  expect_refused(
      "<DescribeSubnetsResponse/>", [&] { return ec2::describe_subnets(*client, {}); },
      "subnetSet");
  expect_refused(
      "<DescribeAvailabilityZonesResponse/>",
      [&] { return ec2::describe_availability_zones(*client, {}); }, "availabilityZoneInfo");

  // Empty lists are answers, and an empty parameter value is a value.
  answer = R"({"MountTargets":[]})";
  EXPECT_TRUE(mount_targets().ok());
  answer = R"({"Parameter":{"Name":"/p","Value":"","Version":3}})";
  ASSERT_TRUE(parameter().ok());
  EXPECT_EQ(parameter()->version, 3);
}

TEST(SsmAndEcsCalls, Json11Bodies) {
  LoopbackHttpServer server([](const RecordedRequest& r) -> std::optional<std::string> {
    if (r.header("X-Amz-Target").ends_with("PutParameter")) {
      return http_response(200, R"({"Version":7,"Tier":"Standard"})");
    }
    return http_response(200, R"({"service":{"serviceName":"s","deployments":[
        {"id":"ecs-svc/1","status":"PRIMARY","desiredCount":2,"rolloutState":"IN_PROGRESS"}]}})");
  });
  auto client = client_for(server);
  auto put = ssm::put_parameter(*client, {"/n", "v", "String", "d", true});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->version, 7);
  EXPECT_EQ(put->tier, "Standard");
  auto updated = ecs::update_service(*client, {"c", "s", true});
  ASSERT_TRUE(updated.ok());
  ASSERT_EQ(updated->deployments.size(), 1u);
  EXPECT_EQ(updated->deployments[0].rollout_state, "IN_PROGRESS");
  EXPECT_EQ(updated->deployments[0].desired_count, 2);

  const auto requests = server.requests();
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            nlohmann::json::parse(R"({"Name":"/n","Value":"v","Type":"String","Overwrite":true,
                                      "Description":"d"})"));
  EXPECT_EQ(nlohmann::json::parse(requests[1].body),
            nlohmann::json::parse(R"({"cluster":"c","service":"s","forceNewDeployment":true})"));
  EXPECT_EQ(requests[1].header("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.UpdateService");
}

// A service that answers every page with another token is not followed for ever.
TEST(SsmAndEcsCalls, AParameterHistoryThatNeverEndsIsCutOff) {
  LoopbackHttpServer server([](const RecordedRequest&) -> std::optional<std::string> {
    return http_response(
        200, R"({"Parameters":[{"Name":"/p","Value":"v","Version":1}],"NextToken":"again"})");
  });
  auto client = client_for(server);
  auto history = ssm::get_parameter_history(*client, "/p");
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(history.error().message.find("NextToken"), std::string::npos);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 20u);
  EXPECT_EQ(nlohmann::json::parse(requests[0].body),
            nlohmann::json::parse(R"({"Name":"/p","WithDecryption":false,"MaxResults":50})"));
  EXPECT_EQ(nlohmann::json::parse(requests[1].body)["NextToken"], "again");
}

}  // namespace
}  // namespace efsas::aws
