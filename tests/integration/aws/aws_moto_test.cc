// The AWS client against a real moto_server, through a fault-injecting proxy that records every
// request: each call and its wire shape, pagination, AWS error codes, the retry behaviour, and a
// botocore re-signing of every request the client sent.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>

#include "efsas/aws/client.h"
#include "efsas/aws/ec2.h"
#include "efsas/aws/ecs.h"
#include "efsas/aws/efs.h"
#include "efsas/aws/ssm.h"
#include "efsas/testing/fault_proxy.h"
#include "efsas/testing/moto.h"
#include "efsas/testing/process.h"

namespace efsas::aws {
namespace {

using efsas::testing::Fault;
using efsas::testing::FaultProxy;
using efsas::testing::MotoServer;
using efsas::testing::RecordedRequest;

constexpr const char* kSecret = "moto-secret-key";

// Runs verify_sigv4.py (botocore) over the recorded requests; returns its output, "" if all pass.
std::string botocore_rejections(const std::vector<RecordedRequest>& requests) {
  nlohmann::json doc = {{"secret_access_key", kSecret}, {"requests", nlohmann::json::array()}};
  for (const auto& r : requests) {
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& [name, value] : r.headers) headers.push_back({name, value});
    doc["requests"].push_back(
        {{"method", r.method}, {"target", r.target}, {"headers", headers}, {"body", r.body}});
  }
  efsas::testing::TempDir dir;
  efsas::testing::write_file(dir.path() / "requests.json", doc.dump());
  const auto result = efsas::testing::run_command(
      {"python3", EFSAS_VERIFY_SIGV4_SCRIPT, (dir.path() / "requests.json").string()});
  return result.status == 0 ? ""
                            : result.output + " (status " + std::to_string(result.status) + ")";
}

class AwsMotoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    moto_ = new MotoServer();
    proxy_ = new FaultProxy(moto_->port());
  }
  // Every request the suite sent must verify with botocore (one run of the verifier: it is slow
  // to start).
  static void TearDownTestSuite() {
    if (!sent_.empty()) {
      const std::string rejections = botocore_rejections(sent_);
      if (!rejections.empty()) ADD_FAILURE() << rejections;
      std::printf("botocore re-signed %zu requests\n", sent_.size());
    }
    delete proxy_;
    delete moto_;
  }

  void SetUp() override {
    moto_->reset();
    proxy_->inject(Fault::kHttp500, 0);
    record_sent();
    clock_ = std::make_shared<ManualClock>(std::chrono::system_clock::now());
    client_ = make_client(3);
  }

  void TearDown() override { record_sent(); }

  // Keeps what the proxy saw (faulted attempts included) for the botocore check at the end.
  static void record_sent() {
    for (auto& request : proxy_->requests()) sent_.push_back(std::move(request));
    proxy_->clear_requests();
  }

  std::unique_ptr<AwsClient> make_client(int max_attempts) {
    AwsClientConfig config;
    config.region = "us-east-1";
    for (const auto service : {Service::kEfs, Service::kEc2, Service::kSsm, Service::kEcs}) {
      config.endpoints[service] = parse_endpoint_url(proxy_->endpoint()).value();
    }
    config.credentials =
        make_static_provider({"AKIDMOTOTEST", kSecret, "moto-session-token", std::nullopt});
    config.transport = make_curl_transport();
    config.clock = clock_;  // backoff sleeps advance the manual clock instead of blocking
    config.retry.max_attempts = max_attempts;
    config.random = [] { return 0.5; };
    return std::make_unique<AwsClient>(std::move(config));
  }

  // Set-up calls the typed API does not cover, sent through the same client.
  std::string create_vpc() {
    auto xml = call_query("Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16");
    return between(xml, "<vpcId>", "</vpcId>");
  }
  std::string create_subnet(const std::string& vpc, int index, const std::string& az) {
    auto xml =
        call_query("Action=CreateSubnet&Version=2016-11-15&VpcId=" + vpc + "&CidrBlock=10.0." +
                   std::to_string(index) + ".0%2F24" + "&AvailabilityZone=" + az);
    return between(xml, "<subnetId>", "</subnetId>");
  }
  std::string create_file_system(const std::string& token) {
    ApiRequest request{Service::kEfs,
                       Protocol::kRestJson,
                       "CreateFileSystem",
                       "POST",
                       "/2015-02-01/file-systems",
                       "",
                       nlohmann::json{{"CreationToken", token}}.dump()};
    auto response = client_->call(request);
    EXPECT_TRUE(response.ok()) << response.error().to_string();
    return nlohmann::json::parse(response->body).at("FileSystemId");
  }
  void call_ecs(const std::string& operation, const nlohmann::json& body) {
    ApiRequest request{Service::kEcs, Protocol::kJson11, operation, "POST", "/", "", body.dump()};
    auto response = client_->call(request);
    ASSERT_TRUE(response.ok()) << response.error().to_string();
  }

  std::size_t count_requests(const std::string& needle) const {
    const auto requests = proxy_->requests();
    return static_cast<std::size_t>(
        std::count_if(requests.begin(), requests.end(), [&](const RecordedRequest& r) {
          return (r.method + " " + r.target + " " + r.header("X-Amz-Target") + " " + r.body)
                     .find(needle) != std::string::npos;
        }));
  }

  static MotoServer* moto_;
  static FaultProxy* proxy_;
  static std::vector<RecordedRequest> sent_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<AwsClient> client_;

 private:
  std::string call_query(const std::string& body) {
    ApiRequest request{Service::kEc2, Protocol::kQuery, "setup", "POST", "/", "", body};
    auto response = client_->call(request);
    EXPECT_TRUE(response.ok()) << response.error().to_string();
    return response.ok() ? response->body : "";
  }
  static std::string between(const std::string& text, const std::string& open,
                             const std::string& close) {
    const auto start = text.find(open);
    if (start == std::string::npos) return "";
    const auto from = start + open.size();
    return text.substr(from, text.find(close, from) - from);
  }
};

MotoServer* AwsMotoTest::moto_ = nullptr;
FaultProxy* AwsMotoTest::proxy_ = nullptr;
std::vector<RecordedRequest> AwsMotoTest::sent_;

TEST_F(AwsMotoTest, DescribeFileSystemsFollowsNextMarker) {
  const std::string first = create_file_system("token-a");
  const std::string second = create_file_system("token-b");
  record_sent();
  auto all = efs::describe_file_systems(*client_, {.max_items = 1});
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(count_requests("GET /2015-02-01/file-systems?MaxItems=1"), 2u);
  std::vector<std::string> ids = {(*all)[0].file_system_id, (*all)[1].file_system_id};
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected = {first, second};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);
  EXPECT_EQ((*all)[0].life_cycle_state, "available");

  auto one = efs::describe_file_systems(*client_, {.file_system_id = first});
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].creation_token, "token-a");
  EXPECT_FALSE((*one)[0].file_system_arn.empty());
  EXPECT_EQ((*one)[0].performance_mode, "generalPurpose");
}

TEST_F(AwsMotoTest, MountTargetsCreateDescribePaginateDelete) {
  const std::string fs = create_file_system("mt");
  const std::string vpc = create_vpc();
  const std::vector<std::string> azs = {"us-east-1a", "us-east-1b", "us-east-1c"};
  std::vector<std::string> created;
  for (int i = 0; i < 3; ++i) {
    const std::string subnet = create_subnet(vpc, i, azs[static_cast<std::size_t>(i)]);
    auto mt = efs::create_mount_target(*client_, {fs, subnet, "", {}});
    ASSERT_TRUE(mt.ok()) << mt.error().to_string();
    EXPECT_EQ(mt->file_system_id, fs);
    EXPECT_EQ(mt->subnet_id, subnet);
    EXPECT_EQ(mt->availability_zone_name, azs[static_cast<std::size_t>(i)]);
    EXPECT_FALSE(mt->availability_zone_id.empty());
    EXPECT_EQ(mt->ip_address.rfind("10.0." + std::to_string(i) + ".", 0), 0u) << mt->ip_address;
    EXPECT_EQ(mt->life_cycle_state, "available");
    EXPECT_EQ(mt->vpc_id, vpc);
    created.push_back(mt->mount_target_id);
  }
  record_sent();
  auto first_page = efs::describe_mount_targets_page(*client_, {fs, "", 1}, "");
  ASSERT_TRUE(first_page.ok());
  EXPECT_EQ(first_page->items.size(), 1u);
  EXPECT_FALSE(first_page->next_marker.empty());

  auto all = efs::describe_mount_targets(*client_, {.file_system_id = fs, .max_items = 1});
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ(count_requests("GET /2015-02-01/mount-targets?MaxItems=1"), 4u);  // 1 + 3 pages
  std::vector<std::string> ids;
  for (const auto& mt : *all) ids.push_back(mt.mount_target_id);
  std::sort(ids.begin(), ids.end());
  std::sort(created.begin(), created.end());
  EXPECT_EQ(ids, created);

  ASSERT_TRUE(efs::delete_mount_target(*client_, created[0]).ok());
  auto after = efs::describe_mount_targets(*client_, {.file_system_id = fs});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 2u);
  auto gone = efs::describe_mount_targets(*client_, {.mount_target_id = created[0]});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().remote_code, "MountTargetNotFound");
}

TEST_F(AwsMotoTest, MountTargetConflictAndSubnetNotFoundAreSentOnce) {
  const std::string fs = create_file_system("conflict");
  const std::string vpc = create_vpc();
  const std::string subnet = create_subnet(vpc, 0, "us-east-1a");
  ASSERT_TRUE(efs::create_mount_target(*client_, {fs, subnet, "", {}}).ok());
  record_sent();

  auto conflict = efs::create_mount_target(*client_, {fs, subnet, "", {}});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kRemote);
  EXPECT_EQ(conflict.error().remote_code, "MountTargetConflict");
  EXPECT_FALSE(conflict.error().retryable);
  EXPECT_FALSE(conflict.error().request_id.empty());
  EXPECT_EQ(proxy_->request_count(), 1u);

  auto missing = efs::create_mount_target(*client_, {fs, "subnet-12345678", "", {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().remote_code, "SubnetNotFound");
  EXPECT_NE(missing.error().message.find("subnet-12345678"), std::string::npos);
  EXPECT_EQ(proxy_->request_count(), 2u);
}

TEST_F(AwsMotoTest, DescribeSubnetsWithFilters) {
  const std::string vpc = create_vpc();
  const std::string a = create_subnet(vpc, 1, "us-east-1a");
  const std::string b = create_subnet(vpc, 2, "us-east-1b");
  auto subnets = ec2::describe_subnets(*client_, {.filters = {{"vpc-id", {vpc}}}});
  ASSERT_TRUE(subnets.ok()) << subnets.error().to_string();
  ASSERT_EQ(subnets->size(), 2u);
  for (const auto& subnet : *subnets) {
    EXPECT_EQ(subnet.vpc_id, vpc);
    EXPECT_FALSE(subnet.availability_zone_id.empty());
    EXPECT_GT(subnet.available_ip_address_count, 200);
    EXPECT_EQ(subnet.state, "available");
  }
  auto by_id = ec2::describe_subnets(*client_, {.subnet_ids = {b}});
  ASSERT_TRUE(by_id.ok());
  ASSERT_EQ(by_id->size(), 1u);
  EXPECT_EQ((*by_id)[0].availability_zone, "us-east-1b");
  EXPECT_EQ((*by_id)[0].cidr_block, "10.0.2.0/24");

  auto by_az = ec2::describe_subnets(
      *client_, {.filters = {{"vpc-id", {vpc}}, {"availability-zone", {"us-east-1a"}}}});
  ASSERT_TRUE(by_az.ok());
  ASSERT_EQ(by_az->size(), 1u);
  EXPECT_EQ((*by_az)[0].subnet_id, a);

  auto missing = ec2::describe_subnets(*client_, {.subnet_ids = {"subnet-00000000"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().remote_code, "InvalidSubnetID.NotFound");
  EXPECT_FALSE(missing.error().retryable);
}

TEST_F(AwsMotoTest, DescribeAvailabilityZones) {
  auto zones = ec2::describe_availability_zones(*client_, {});
  ASSERT_TRUE(zones.ok()) << zones.error().to_string();
  ASSERT_GE(zones->size(), 3u);
  auto named = ec2::describe_availability_zones(*client_, {.zone_names = {"us-east-1b"}});
  ASSERT_TRUE(named.ok());
  ASSERT_EQ(named->size(), 1u);
  EXPECT_EQ((*named)[0].zone_name, "us-east-1b");
  EXPECT_EQ((*named)[0].region_name, "us-east-1");
  EXPECT_EQ((*named)[0].state, "available");
  EXPECT_EQ((*named)[0].zone_id.rfind("use1-az", 0), 0u);
}

TEST_F(AwsMotoTest, SsmParametersWithOverwriteAndErrors) {
  const std::string name = "/efs-mount-autoscaling/mount-targets";
  auto missing = ssm::get_parameter(*client_, name);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().remote_code, "ParameterNotFound");
  EXPECT_FALSE(missing.error().retryable);

  auto put = ssm::put_parameter(*client_, {name, R"({"mount_targets":[]})", "String", "", false});
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  EXPECT_EQ(put->version, 1);

  auto again = ssm::put_parameter(*client_, {name, "x", "String", "", false});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().remote_code, "ParameterAlreadyExists");

  auto overwrite = ssm::put_parameter(*client_, {name, R"({"v":2})", "String", "", true});
  ASSERT_TRUE(overwrite.ok()) << overwrite.error().to_string();
  EXPECT_EQ(overwrite->version, 2);

  auto got = ssm::get_parameter(*client_, name);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->value, R"({"v":2})");
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->type, "String");
  EXPECT_EQ(got->name, name);
  // LastModifiedDate is epoch seconds with a fraction: within a minute of now.
  ASSERT_TRUE(got->last_modified.has_value());
  EXPECT_LT(std::chrono::abs(*got->last_modified - std::chrono::system_clock::now()),
            std::chrono::minutes(1));
  EXPECT_EQ(count_requests("AmazonSSM.PutParameter"), 3u);
}

// More versions than one page holds: every one comes back, oldest first, with its value.
TEST_F(AwsMotoTest, SsmParameterHistoryFollowsEveryPage) {
  const std::string name = "/efs-mount-autoscaling/history";
  auto missing = ssm::get_parameter_history(*client_, name);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().remote_code, "ParameterNotFound");
  for (int i = 1; i <= 57; ++i) {
    ASSERT_TRUE(
        ssm::put_parameter(*client_, {name, "value " + std::to_string(i), "String", "", true})
            .ok());
  }
  auto history = ssm::get_parameter_history(*client_, name);
  ASSERT_TRUE(history.ok()) << history.error().to_string();
  ASSERT_EQ(history->size(), 57u);
  for (std::size_t i = 0; i < history->size(); ++i) {
    EXPECT_EQ((*history)[i].version, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ((*history)[i].value, "value " + std::to_string(i + 1));
  }
  EXPECT_EQ(count_requests("AmazonSSM.GetParameterHistory"), 3u);  // one refused, two pages
}

TEST_F(AwsMotoTest, EcsUpdateServiceForcesANewDeployment) {
  call_ecs("CreateCluster", {{"clusterName", "efs"}});
  call_ecs("RegisterTaskDefinition",
           {{"family", "file-service"},
            {"containerDefinitions", {{{"name", "app"}, {"image", "nginx"}, {"memory", 128}}}}});
  call_ecs("CreateService", {{"cluster", "efs"},
                             {"serviceName", "file-service"},
                             {"taskDefinition", "file-service"},
                             {"desiredCount", 2}});
  auto updated = ecs::update_service(*client_, {"efs", "file-service", true});
  ASSERT_TRUE(updated.ok()) << updated.error().to_string();
  EXPECT_EQ(updated->service_name, "file-service");
  EXPECT_EQ(updated->desired_count, 2);
  EXPECT_EQ(updated->status, "ACTIVE");
  EXPECT_NE(updated->cluster_arn.find("efs"), std::string::npos);
  const auto requests = proxy_->requests();
  const auto& update = requests.back();
  EXPECT_EQ(update.header("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.UpdateService");
  EXPECT_EQ(nlohmann::json::parse(update.body).at("forceNewDeployment"), true);

  auto described = ecs::describe_services(*client_, "efs", {"file-service", "nope"});
  ASSERT_TRUE(described.ok()) << described.error().to_string();
  ASSERT_EQ(described->services.size(), 1u);
  EXPECT_EQ(described->services[0].service_name, "file-service");
  EXPECT_FALSE(described->services[0].service_arn.empty());
  ASSERT_FALSE(described->services[0].deployments.empty());
  const auto& created = described->services[0].deployments[0].created_at;
  ASSERT_TRUE(created.has_value());
  EXPECT_LT(std::chrono::abs(*created - std::chrono::system_clock::now()), std::chrono::minutes(1));
  ASSERT_EQ(described->failures.size(), 1u);
  EXPECT_EQ(described->failures[0].reason, "MISSING");
}

TEST_F(AwsMotoTest, RetriesInjectedFaultsWithinTheAttemptLimit) {
  for (const Fault fault : {Fault::kHttp500, Fault::kHttp503, Fault::kThrottling, Fault::kDrop}) {
    record_sent();
    proxy_->inject(fault, 2);
    auto put = ssm::put_parameter(*client_, {"/p", "v", "String", "", true});
    ASSERT_TRUE(put.ok()) << static_cast<int>(fault) << ": " << put.error().to_string();
    EXPECT_EQ(proxy_->request_count(), 3u) << static_cast<int>(fault);
    EXPECT_EQ(proxy_->pending_faults(), 0);
  }
  record_sent();
  proxy_->inject(Fault::kThrottlingXml, 2);
  auto zones = ec2::describe_availability_zones(*client_, {});
  ASSERT_TRUE(zones.ok()) << zones.error().to_string();
  EXPECT_EQ(proxy_->request_count(), 3u);
}

TEST_F(AwsMotoTest, GivesUpAfterTheAttemptLimit) {
  proxy_->inject(Fault::kHttp503, 10);
  const auto before = clock_->total_slept();
  auto put = ssm::put_parameter(*client_, {"/p", "v", "String", "", true});
  ASSERT_FALSE(put.ok());
  EXPECT_TRUE(put.error().retryable);
  EXPECT_EQ(put.error().remote_code, "ServiceUnavailable");
  EXPECT_EQ(proxy_->request_count(), 3u);
  // Two backoffs with the draw fixed at 0.5: 0.5 s and 1 s.
  EXPECT_EQ(clock_->total_slept() - before, std::chrono::milliseconds(1500));

  auto five = make_client(5);
  record_sent();
  proxy_->inject(Fault::kDrop, 10);
  auto dropped = ssm::get_parameter(*five, "/p");
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(dropped.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(proxy_->request_count(), 5u);
  proxy_->inject(Fault::kHttp500, 0);
}

TEST_F(AwsMotoTest, NonRetryableClientErrorIsSentExactlyOnce) {
  auto missing = ssm::get_parameter(*client_, "/does/not/exist");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().remote_code, "ParameterNotFound");
  EXPECT_EQ(proxy_->request_count(), 1u);
  EXPECT_EQ(clock_->total_slept().count(), 0);
}

TEST_F(AwsMotoTest, BotocoreVerifierRejectsATamperedSignature) {
  ASSERT_TRUE(ssm::put_parameter(*client_, {"/p", "v", "String", "", true}).ok());
  auto requests = proxy_->requests();
  ASSERT_EQ(botocore_rejections(requests), "");
  for (auto& [name, value] : requests[0].headers) {
    if (name == "Authorization") value.back() = value.back() == '0' ? '1' : '0';
  }
  EXPECT_NE(botocore_rejections(requests).find("REJECTED"), std::string::npos);
  requests = proxy_->requests();
  requests[0].body += " ";  // a body changed after signing
  EXPECT_NE(botocore_rejections(requests).find("REJECTED"), std::string::npos);
}

}  // namespace
}  // namespace efsas::aws
