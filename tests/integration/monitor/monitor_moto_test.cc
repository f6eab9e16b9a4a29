// Reconcile scenarios end to end: the real file-monitor binary against a real moto_server (a VPC
// with one subnet in each of three AZs, an EFS file system, an ECS service), counting a tree the
// test generates. moto creates mount targets `available` at once, where AWS reports `creating`
// for a minute or two; the scenario for that state puts the fault proxy in between to show
// moto's targets as `creating` until the test lets them become available.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "efsas/aws/client.h"
#include "efsas/aws/http.h"
#include "efsas/monitor/cloud.h"
#include "efsas/mount_target_list.h"
#include "efsas/testing/fault_proxy.h"
#include "efsas/testing/moto.h"
#include "efsas/testing/process.h"
#include "runtime_api_fixture.h"

namespace efsas::monitor {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::run_command;

constexpr const char* kParameter = "/efs-mount-autoscaling/mount-targets";

struct Outcome {
  int status = -1;
  json report;         // the run report printed by --json (null when none)
  std::string output;  // everything the process wrote
};

class MonitorMoto : public ::testing::Test {
 protected:
  // One moto_server for the suite; each scenario gets its own VPC, file system, ECS service
  // and parameter, created up front by one Python (boto3) call.
  static void SetUpTestSuite() {
    moto_ = new testing::MotoServer();
    const auto setup = run_command(
        {"python3", (testing::source_dir() / "tests/integration/monitor/moto_setup.py").string(),
         moto_->endpoint(), std::to_string(kScenarios)});
    // On failure every test fails with the output; moto is still stopped by TearDownTestSuite.
    // The JSON is the last line (warnings from Python may come before it).
    const json parsed = json::parse(last_line(setup.output), nullptr, false);
    setup_error_ = new std::string(setup.status == 0 && parsed.is_array() ? "" : setup.output);
    worlds_ = new json(parsed.is_array() ? parsed : json::array());
  }
  static void TearDownTestSuite() {
    delete worlds_;
    delete setup_error_;
    delete moto_;
    worlds_ = nullptr;
    moto_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_->empty()) << "moto_setup.py failed: " << *setup_error_;
    ASSERT_LT(next_world_, worlds_->size()) << "raise kScenarios";
    const json& world = (*worlds_)[next_world_++];
    file_system_id_ = world["file_system_id"];
    vpc_id_ = world["vpc"];
    ecs_service_ = world["ecs_service"];
    parameter_name_ = std::string(kParameter) + "/" + file_system_id_;
    for (const auto& s : world["subnets"]) subnet_ids_.push_back(s["id"]);
    aws::Environment env;
    for (const auto& [k, v] : moto_->client_env()) env[k] = v;
    auto client =
        aws::make_aws_client(env, aws::make_curl_transport(), std::make_shared<const RealClock>());
    ASSERT_TRUE(client.ok()) << client.error().to_string();
    cloud_ = make_aws_cloud(std::move(client).value());
    fs::create_directories(data_dir());
  }

  fs::path data_dir() const { return dir_.path() / "efs" / "data"; }

  static std::string last_line(std::string output) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    const auto newline = output.rfind('\n');
    return newline == std::string::npos ? output : output.substr(newline + 1);
  }

  // Files spread over a few subdirectories, as a real tree would be.
  void add_files(int count) {
    for (int i = 0; i < count; ++i) {
      const fs::path sub = data_dir() / ("d" + std::to_string(next_file_ % 4));
      fs::create_directories(sub);
      std::ofstream(sub / ("f" + std::to_string(next_file_++))) << "x";
    }
  }

  std::map<std::string, std::string> env(std::uint64_t threshold = 10) const {
    auto e = moto_->client_env();
    std::string subnets;
    for (const auto& id : subnet_ids_) subnets += (subnets.empty() ? "" : ",") + id;
    e["EFS_FILE_SYSTEM_ID"] = file_system_id_;
    e["EFS_MOUNT_PATH"] = (dir_.path() / "efs").string();
    e["EFS_TARGET_DIRECTORY"] = "data";
    e["FILE_COUNT_THRESHOLD"] = std::to_string(threshold);
    e["CANDIDATE_SUBNET_IDS"] = subnets;
    e["SSM_PARAMETER_NAME"] = parameter_name_;
    e["SCAN_CACHE_PATH"] = "";
    e["LOG_LEVEL"] = "info";
    return e;
  }

  static fs::path binary() { return testing::binary_dir() / "lambda/app/file-monitor"; }

  // The first line of `output` that is a JSON object with `member` and is not a log line (no
  // level); null when there is none.
  static json json_line_with(const std::string& output, const std::string& member) {
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      const json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.contains(member) && !j.contains("level")) return j;
    }
    return nullptr;
  }
  static json find_report(const std::string& output) {
    return json_line_with(output, "planned_creates");
  }

  Outcome run(const std::map<std::string, std::string>& environment,
              std::vector<std::string> extra = {}) const {
    std::vector<std::string> argv = {binary().string(), "run", "--json"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto result = run_command(argv, environment);
    return Outcome{result.status, find_report(result.output), result.output};
  }

  std::vector<MountTarget> mount_targets() const {
    auto targets = cloud_->describe_mount_targets(file_system_id_);
    EXPECT_TRUE(targets.ok());
    return targets.ok() ? *targets : std::vector<MountTarget>{};
  }

  std::set<std::string> azs() const {
    std::set<std::string> out;
    for (const auto& t : mount_targets()) out.insert(t.availability_zone);
    return out;
  }

  std::optional<ParameterValue> parameter() const {
    auto p = cloud_->get_parameter(parameter_name_);
    EXPECT_TRUE(p.ok());
    return p.ok() ? *p : std::nullopt;
  }

  MountTargetList document() const {
    const auto p = parameter();
    if (!p) {
      ADD_FAILURE() << "no document published";
      return {};
    }
    auto list = parse_mount_target_list(p->value);
    EXPECT_TRUE(list.ok()) << list.error().to_string();
    return list.ok() ? *list : MountTargetList{};
  }

  static constexpr std::size_t kScenarios = 27;
  static testing::MotoServer* moto_;
  static json* worlds_;
  static std::string* setup_error_;
  static std::size_t next_world_;
  testing::TempDir dir_;
  std::string ecs_service_;
  std::string parameter_name_;
  std::string file_system_id_;
  std::string vpc_id_;
  std::vector<std::string> subnet_ids_;
  std::unique_ptr<CloudApi> cloud_;
  int next_file_ = 0;
};

testing::MotoServer* MonitorMoto::moto_ = nullptr;
json* MonitorMoto::worlds_ = nullptr;
std::string* MonitorMoto::setup_error_ = nullptr;
std::size_t MonitorMoto::next_world_ = 0;

TEST_F(MonitorMoto, FreshSystemGetsOneMountTargetAndAPublishedList) {
  add_files(5);
  const Outcome first = run(env(100));
  ASSERT_EQ(first.status, 0) << first.output;
  const auto targets = mount_targets();
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].availability_zone, "us-east-1a");  // deterministic: first AZ
  const MountTargetList list = document();
  EXPECT_EQ(list.file_system_id, file_system_id_);
  EXPECT_EQ(list.generation, 1u);
  ASSERT_EQ(list.mount_targets.size(), 1u);
  EXPECT_EQ(list.mount_targets[0].id, targets[0].id);
  EXPECT_EQ(list.mount_targets[0].ip_address, targets[0].ip_address);

  // The second run finds everything in place: no creation, no new generation.
  const Outcome second = run(env(100));
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_EQ(mount_targets().size(), 1u);
  EXPECT_EQ(document().generation, 1u);
  EXPECT_EQ(second.report["published"], false);
  // The run's last lines: its summary and the EMF metrics.
  EXPECT_NE(second.output.find("\"message\":\"reconcile finished\""), std::string::npos);
  EXPECT_NE(second.output.find("\"CloudWatchMetrics\""), std::string::npos);
}

TEST_F(MonitorMoto, CrossingTheThresholdAddsASecondMountTarget) {
  add_files(10);
  ASSERT_EQ(run(env(10)).status, 0);
  ASSERT_EQ(mount_targets().size(), 1u);
  ASSERT_EQ(run(env(10)).status, 0);
  EXPECT_EQ(mount_targets().size(), 1u) << "10 files with threshold 10 need one mount target";

  add_files(1);
  const Outcome crossed = run(env(10));
  ASSERT_EQ(crossed.status, 0) << crossed.output;
  EXPECT_EQ(crossed.report["scan"]["files"], 11);
  EXPECT_EQ(crossed.report["desired_mount_targets"], 2);
  EXPECT_EQ(azs(), (std::set<std::string>{"us-east-1a", "us-east-1b"}));
  EXPECT_EQ(document().mount_targets.size(), 2u);
  EXPECT_EQ(document().generation, 2u);
}

TEST_F(MonitorMoto, ThreeAndAHalfTimesTheThresholdIsCappedAtThreeAzsOnePerRun) {
  add_files(35);
  for (int run_number = 1; run_number <= 3; ++run_number) {
    const Outcome outcome = run(env(10));
    ASSERT_EQ(outcome.status, 0) << outcome.output;
    EXPECT_EQ(outcome.report["desired_mount_targets"], 3);
    EXPECT_EQ(mount_targets().size(), static_cast<std::size_t>(run_number));
  }
  const Outcome settled = run(env(10));
  ASSERT_EQ(settled.status, 0);
  EXPECT_TRUE(settled.report["planned_creates"].empty());
  EXPECT_EQ(azs(), (std::set<std::string>{"us-east-1a", "us-east-1b", "us-east-1c"}));
  EXPECT_EQ(document().mount_targets.size(), 3u);
}

TEST_F(MonitorMoto, EveryAzAlreadyUsedCreatesNothingAndPublishesThem) {
  for (const auto& subnet : subnet_ids_) {
    ASSERT_TRUE(cloud_->create_mount_target(file_system_id_, subnet, {}).ok());
  }
  add_files(100);
  auto e = env(10);
  e["MAX_CREATES_PER_RUN"] = "3";
  const Outcome outcome = run(e);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_TRUE(outcome.report["planned_creates"].empty());
  EXPECT_EQ(mount_targets().size(), 3u);
  EXPECT_EQ(document().mount_targets.size(), 3u);
}

TEST_F(MonitorMoto, DiscoversTheVpcsSubnetsFromAnExistingMountTarget) {
  ASSERT_TRUE(cloud_->create_mount_target(file_system_id_, subnet_ids_[1], {}).ok());
  add_files(25);
  auto e = env(10);
  e.erase("CANDIDATE_SUBNET_IDS");
  const Outcome outcome = run(e);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(azs(), (std::set<std::string>{"us-east-1a", "us-east-1b"}));
}

// Concurrent runs share the work: each AZ's mount target is created by one run, and a run that
// finds another's (before creating, or as a conflict from EFS) reports no error. Whatever order
// they published in, the standing document lists all three.
TEST_F(MonitorMoto, ConcurrentRunsCreateEachMountTargetOnceAndReportNoError) {
  add_files(100);
  auto e = env(10);
  e["MAX_CREATES_PER_RUN"] = "3";
  // Four runs at once, twice: each sees no mount target and tries every AZ.
  for (int round = 0; round < 2; ++round) {
    std::vector<std::unique_ptr<testing::Process>> runs;
    for (int i = 0; i < 4; ++i) {
      testing::ProcessOptions options;
      options.argv = {binary().string(), "run", "--json"};
      options.env = e;
      options.log_file = dir_.path() / ("run" + std::to_string(round) + std::to_string(i) + ".log");
      runs.push_back(std::make_unique<testing::Process>(options));
    }
    // The AZs the runs say they created a mount target in: each once, and only in the first round.
    std::multiset<std::string> created_in;
    for (auto& p : runs) {
      EXPECT_EQ(p->wait(std::chrono::seconds(60)), 0) << p->log();
      const json report = find_report(p->log());
      ASSERT_TRUE(report.is_object()) << p->log();
      EXPECT_EQ(report["errors"], json::array()) << p->log();
      for (const auto& t : report["created"]) created_in.insert(t["availability_zone"]);
    }
    const std::multiset<std::string> all = {"us-east-1a", "us-east-1b", "us-east-1c"};
    EXPECT_EQ(created_in, round == 0 ? all : std::multiset<std::string>());
    std::map<std::string, int> per_az;
    for (const auto& t : mount_targets()) ++per_az[t.availability_zone];
    EXPECT_EQ(per_az.size(), 3u);
    for (const auto& [az, count] : per_az) EXPECT_EQ(count, 1) << az;
    // Whatever order the runs published in, the document standing lists every mount target.
    EXPECT_EQ(document().mount_targets.size(), 3u);
  }
  // It is current: one more run has nothing to publish.
  const Outcome after = run(e);
  ASSERT_EQ(after.status, 0) << after.output;
  EXPECT_EQ(after.report["published"], false);
}

TEST_F(MonitorMoto, MissingParameterIsCreated) {
  add_files(1);
  ASSERT_FALSE(parameter().has_value());
  ASSERT_EQ(run(env(10)).status, 0);
  ASSERT_TRUE(parameter().has_value());
  EXPECT_EQ(document().generation, 1u);
}

TEST_F(MonitorMoto, MalformedParameterIsReportedAndReplacedWithAHigherGeneration) {
  add_files(1);
  ASSERT_TRUE(cloud_->put_parameter(parameter_name_, "{not json").ok());
  const Outcome first = run(env(10));
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_EQ(first.report["document"]["state"], "malformed");
  EXPECT_NE(first.output.find("replacing a malformed mount-target document"), std::string::npos);
  const MountTargetList replaced = document();
  EXPECT_EQ(replaced.mount_targets.size(), 1u);
  EXPECT_GT(replaced.generation, 1u);  // above the damaged parameter's version

  // A document that names its generation but breaks the schema: readers may hold 40.
  ASSERT_TRUE(cloud_
                  ->put_parameter(parameter_name_,
                                  R"({"schema_version":1,"file_system_id":")" + file_system_id_ +
                                      R"(","generation":40,"mount_targets":"oops"})")
                  .ok());
  ASSERT_EQ(run(env(10)).status, 0);
  EXPECT_EQ(document().generation, 41u);
}

// A run that publishes asks ECS for a new deployment of the service (UpdateService with
// forceNewDeployment), as the seed did; a run with nothing to publish, or with
// FORCE_ECS_DEPLOYMENT=false, does not. ECS is reached through a proxy that records the calls.
TEST_F(MonitorMoto, PublishingForcesAnEcsDeploymentWhenConfigured) {
  testing::FaultProxy ecs(moto_->port());
  // The UpdateService calls ECS received since the last look, each with its forceNewDeployment.
  const auto update_calls = [&ecs] {
    std::vector<json> calls;
    for (const auto& request : ecs.requests()) {
      if (request.header("x-amz-target").ends_with(".UpdateService")) {
        calls.push_back(json::parse(request.body, nullptr, false));
      }
    }
    ecs.clear_requests();
    return calls;
  };
  add_files(1);
  auto e = env(10);
  e["ECS_CLUSTER_NAME"] = "efsas";
  e["ECS_SERVICE_NAME"] = ecs_service_;
  e["AWS_ENDPOINT_URL_ECS"] = ecs.endpoint();
  const Outcome outcome = run(e);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(outcome.report["ecs_deployment_forced"], true);
  const auto forced = update_calls();
  ASSERT_EQ(forced.size(), 1u);
  EXPECT_EQ(forced[0]["service"], ecs_service_);
  EXPECT_EQ(forced[0]["cluster"], "efsas");
  EXPECT_EQ(forced[0]["forceNewDeployment"], true);
  // No change, no deployment.
  const Outcome again = run(e);
  ASSERT_EQ(again.status, 0);
  EXPECT_EQ(again.report["ecs_deployment_forced"], false);
  EXPECT_TRUE(update_calls().empty());

  e["FORCE_ECS_DEPLOYMENT"] = "false";
  add_files(20);
  const Outcome off = run(e);
  ASSERT_EQ(off.status, 0);
  EXPECT_EQ(off.report["published"], true);
  EXPECT_EQ(off.report["ecs_deployment_forced"], false);
  EXPECT_TRUE(update_calls().empty());
}

// ECS failing after the document was published: the next run finds the document unchanged but
// the service not deployed since it changed, and forces the deployment then.
TEST_F(MonitorMoto, ADeploymentThatFailedAfterPublishingIsMadeByTheNextRun) {
  testing::FaultProxy ecs(moto_->port());
  add_files(1);
  auto e = env(10);
  e["ECS_CLUSTER_NAME"] = "efsas";
  e["ECS_SERVICE_NAME"] = ecs_service_;
  e["AWS_ENDPOINT_URL_ECS"] = ecs.endpoint();
  ecs.inject(testing::Fault::kHttp500, 1000);
  const Outcome failed = run(e);
  EXPECT_EQ(failed.status, 1) << failed.output;
  EXPECT_EQ(failed.report["published"], true);
  EXPECT_EQ(failed.report["ecs_deployment_forced"], false);

  // The next run as an operator sees it (the text summary, not --json).
  ecs.inject(testing::Fault::kHttp500, 0);
  const auto next = run_command({binary().string(), "run"}, e);
  ASSERT_EQ(next.status, 0) << next.output;
  EXPECT_NE(next.output.find("document         unchanged\n"), std::string::npos) << next.output;
  EXPECT_NE(next.output.find("redeployed ECS service\n"), std::string::npos) << next.output;
  EXPECT_EQ(next.output.find("failed"), std::string::npos) << next.output;
  EXPECT_NE(next.output.find("has not been deployed since the document last changed"),
            std::string::npos)
      << next.output;

  const Outcome settled = run(e);
  ASSERT_EQ(settled.status, 0) << settled.output;
  EXPECT_EQ(settled.report["ecs_deployment_forced"], false);
}

TEST_F(MonitorMoto, ThrottlingAndServerErrorsAreRetriedOrReportedAndRepaired) {
  testing::FaultProxy proxy(moto_->port());
  add_files(1);
  auto e = env(10);
  e["AWS_ENDPOINT_URL"] = proxy.endpoint();

  // Two failures in a row are within the standard retry mode's three attempts.
  proxy.inject(testing::Fault::kThrottling, 2);
  Outcome outcome = run(e);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(mount_targets().size(), 1u);
  EXPECT_EQ(proxy.pending_faults(), 0);

  // A service that keeps failing: the run fails clearly and changes nothing half way.
  add_files(15);
  proxy.inject(testing::Fault::kHttp500, 1000);
  outcome = run(e);
  EXPECT_EQ(outcome.status, 1);
  EXPECT_NE(outcome.output.find("500"), std::string::npos) << outcome.output;
  EXPECT_EQ(mount_targets().size(), 1u);

  // The next run after the outage repairs everything.
  proxy.inject(testing::Fault::kHttp500, 0);
  proxy.inject(testing::Fault::kHttp503, 1);
  outcome = run(e);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(mount_targets().size(), 2u);
  EXPECT_EQ(document().mount_targets.size(), 2u);
}

TEST_F(MonitorMoto, AMountTargetStillCreatingHoldsItsAzAndIsPublishedOnceAvailable) {
  testing::FaultProxy proxy(moto_->port());
  proxy.rewrite_bodies([](const testing::RecordedRequest& request, std::string body) {
    if (request.target.rfind("/2015-02-01/mount-targets", 0) != 0) return body;
    json answer = json::parse(body, nullptr, false);
    if (!answer.is_object()) return body;
    if (answer.contains("LifeCycleState")) answer["LifeCycleState"] = "creating";
    if (answer.contains("MountTargets")) {
      for (auto& target : answer["MountTargets"]) target["LifeCycleState"] = "creating";
    }
    return answer.dump();
  });
  auto e = env(10);
  e["AWS_ENDPOINT_URL"] = proxy.endpoint();
  add_files(5);

  // The new target cannot take connections yet: the document is created without it.
  const Outcome first = run(e);
  ASSERT_EQ(first.status, 0) << first.output;
  ASSERT_EQ(first.report["created"].size(), 1u) << first.output;
  EXPECT_EQ(first.report["created"][0]["state"], "creating");
  EXPECT_TRUE(document().mount_targets.empty());
  const std::uint64_t generation = document().generation;

  // Still creating, and enough files for two: its AZ stays held, the second goes elsewhere, and
  // the document does not change.
  add_files(10);
  const Outcome second = run(e);
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_EQ(second.report["desired_mount_targets"], 2);
  EXPECT_EQ(azs(), (std::set<std::string>{"us-east-1a", "us-east-1b"}));
  EXPECT_EQ(second.report["published"], false);
  EXPECT_NE(second.report["notes"].dump().find("is creating: not published yet"), std::string::npos)
      << second.report.dump();
  EXPECT_EQ(document().generation, generation);

  // Both available: the next run publishes both, under a higher generation, and creates nothing.
  proxy.rewrite_bodies({});
  const Outcome third = run(e);
  ASSERT_EQ(third.status, 0) << third.output;
  EXPECT_TRUE(third.report["planned_creates"].empty());
  EXPECT_EQ(mount_targets().size(), 2u);
  EXPECT_EQ(document().mount_targets.size(), 2u);
  EXPECT_EQ(document().generation, generation + 1);
}

// An endpoint that answers 200 without the list EFS always sends (a proxy's page, a wrong
// AWS_ENDPOINT_URL) is an error, not "no mount targets": the run must not publish an empty list.
TEST_F(MonitorMoto, AnAnswerWithoutTheMountTargetListChangesNothing) {
  add_files(5);
  ASSERT_EQ(run(env(10)).status, 0);
  ASSERT_EQ(document().mount_targets.size(), 1u);
  testing::FaultProxy proxy(moto_->port());
  proxy.rewrite_bodies([](const testing::RecordedRequest& request, std::string body) {
    return request.method == "GET" && request.target.rfind("/2015-02-01/mount-targets", 0) == 0
               ? std::string("{}")
               : body;
  });
  auto e = env(10);
  e["AWS_ENDPOINT_URL"] = proxy.endpoint();
  const Outcome outcome = run(e);
  EXPECT_EQ(outcome.status, 1) << outcome.output;
  EXPECT_NE(outcome.output.find("without the list MountTargets"), std::string::npos)
      << outcome.output;
  EXPECT_EQ(mount_targets().size(), 1u);
  EXPECT_EQ(document().generation, 1u);
  EXPECT_EQ(document().mount_targets.size(), 1u);
}

TEST_F(MonitorMoto, ASubnetWithNoFreeAddressesIsSkipped) {
  // us-east-1a is offered only through a subnet whose addresses are all taken. moto would still
  // create a mount target there; AWS would not.
  const auto made = run_command(
      {"python3",
       (testing::source_dir() / "tests/integration/monitor/moto_full_subnet.py").string(),
       moto_->endpoint(), vpc_id_, "us-east-1a", "10.20.10.0/28"});
  ASSERT_EQ(made.status, 0) << made.output;
  const std::string full_subnet = last_line(made.output);
  auto e = env(10);
  e["CANDIDATE_SUBNET_IDS"] = full_subnet + "," + subnet_ids_[1] + "," + subnet_ids_[2];
  add_files(5);

  const Outcome outcome = run(e);
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(azs(), (std::set<std::string>{"us-east-1b"}));
  EXPECT_NE(
      outcome.report["notes"].dump().find(full_subnet + " in us-east-1a has no free IP addresses"),
      std::string::npos)
      << outcome.report.dump();
  ASSERT_EQ(document().mount_targets.size(), 1u);
  EXPECT_EQ(document().mount_targets[0].availability_zone, "us-east-1b");
}

// An operator tears down an AZ: deletes its mount target, then its subnet, which
// CANDIDATE_SUBNET_IDS still names. EC2 refuses a DescribeSubnets naming a subnet that is gone;
// the run leaves that subnet out (said so), publishes the document without the deleted mount
// target and scales in an AZ that is left. Discovery (no CANDIDATE_SUBNET_IDS) finds the VPC past
// a mount target whose subnet is gone.
TEST_F(MonitorMoto, ASubnetDeletedWithItsMountTargetIsLeftOutAndTheDocumentFollows) {
  const auto aws = [&](const std::string& call, const std::string& id) {
    const std::string script =
        "import boto3, sys\n"
        "kw = dict(endpoint_url=sys.argv[1], region_name='us-east-1',\n"
        "          aws_access_key_id='test', aws_secret_access_key='test')\n"
        "if sys.argv[2] == 'delete_mount_target':\n"
        "    boto3.client('efs', **kw).delete_mount_target(MountTargetId=sys.argv[3])\n"
        "else:\n"
        "    boto3.client('ec2', **kw).delete_subnet(SubnetId=sys.argv[3])\n";
    const auto done = run_command({"python3", "-c", script, moto_->endpoint(), call, id});
    EXPECT_EQ(done.status, 0) << done.output;
  };
  add_files(15);
  ASSERT_EQ(run(env(10)).status, 0);
  ASSERT_EQ(run(env(10)).status, 0);
  ASSERT_EQ(azs(), (std::set<std::string>{"us-east-1a", "us-east-1b"}));
  const std::uint64_t before = document().generation;
  for (const auto& t : mount_targets()) {
    if (t.availability_zone == "us-east-1b") aws("delete_mount_target", t.id);
  }
  aws("delete_subnet", subnet_ids_[1]);

  const Outcome outcome = run(env(10));
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_NE(outcome.report["notes"].dump().find(subnet_ids_[1] +
                                                " (CANDIDATE_SUBNET_IDS) does not exist: left out"),
            std::string::npos)
      << outcome.report.dump();
  EXPECT_EQ(azs(), (std::set<std::string>{"us-east-1a", "us-east-1c"}));
  const MountTargetList now = document();
  EXPECT_GT(now.generation, before);
  std::set<std::string> published;
  for (const auto& t : now.mount_targets) published.insert(t.availability_zone);
  EXPECT_EQ(published, (std::set<std::string>{"us-east-1a", "us-east-1c"}));

  // The subnet of the mount target EFS lists first is deleted too (the mount target stays).
  aws("delete_subnet", mount_targets().front().subnet_id);
  auto discovering = env(10);
  discovering.erase("CANDIDATE_SUBNET_IDS");
  const Outcome discovered = run(discovering);
  EXPECT_EQ(discovered.status, 0) << discovered.output;
  EXPECT_TRUE(discovered.report["errors"].empty()) << discovered.report.dump();
}

TEST_F(MonitorMoto, DryRunChangesNothing) {
  add_files(35);
  const Outcome outcome = run(env(10), {"--dry-run"});
  ASSERT_EQ(outcome.status, 0) << outcome.output;
  EXPECT_EQ(outcome.report["dry_run"], true);
  EXPECT_EQ(outcome.report["planned_creates"].size(), 1u);
  EXPECT_TRUE(outcome.report["planned_publish"].is_object());
  EXPECT_TRUE(mount_targets().empty());
  EXPECT_FALSE(parameter().has_value());

  auto e = env(10);
  e["DRY_RUN"] = "true";
  ASSERT_EQ(run(e).status, 0);
  EXPECT_TRUE(mount_targets().empty());
  EXPECT_FALSE(parameter().has_value());
}

TEST_F(MonitorMoto, StatusShowsStateAndWhatARunWouldDo) {
  add_files(15);
  ASSERT_EQ(run(env(10)).status, 0);
  const auto result = run_command({binary().string(), "status", "--json"}, env(10));
  ASSERT_EQ(result.status, 0) << result.output;
  const json status = json_line_with(result.output, "file_system");
  ASSERT_TRUE(status.is_object()) << result.output;
  EXPECT_EQ(status["file_system"]["id"], file_system_id_);
  EXPECT_EQ(status["mount_targets"].size(), 1u);
  EXPECT_EQ(status["mount_targets"][0]["state"], "available");
  EXPECT_EQ(status["document"]["state"], "valid");
  EXPECT_EQ(status["document"]["generation"], 1);
  ASSERT_EQ(status["planned_creates"].size(), 1u);
  EXPECT_EQ(status["planned_creates"][0]["availability_zone"], "us-east-1b");
  EXPECT_EQ(mount_targets().size(), 1u);  // status changed nothing
}

// A One Zone file system (DescribeFileSystems names its AZ) can have one mount target, in that
// AZ: however many files, runs create it there and nothing else, and status says which AZ.
TEST_F(MonitorMoto, AOneZoneFileSystemGetsOneMountTargetInItsOwnAz) {
  const auto made = run_command(
      {"python3", "-c",
       "import boto3, sys, uuid\n"
       "efs = boto3.client('efs', endpoint_url=sys.argv[1], region_name='us-east-1',\n"
       "                   aws_access_key_id='test', aws_secret_access_key='test')\n"
       "print(efs.create_file_system(CreationToken=str(uuid.uuid4()),\n"
       "                             AvailabilityZoneName='us-east-1b')['FileSystemId'])\n",
       moto_->endpoint()});
  ASSERT_EQ(made.status, 0) << made.output;
  file_system_id_ = last_line(made.output);
  add_files(100);
  auto e = env(10);
  e["MAX_CREATES_PER_RUN"] = "3";
  for (int run_number = 0; run_number < 2; ++run_number) {
    const Outcome outcome = run(e);
    ASSERT_EQ(outcome.status, 0) << outcome.output;
    EXPECT_EQ(outcome.report["desired_mount_targets"], 1);
    EXPECT_TRUE(outcome.report["errors"].empty()) << outcome.output;
  }
  EXPECT_EQ(azs(), std::set<std::string>{"us-east-1b"});
  EXPECT_EQ(mount_targets().size(), 1u);
  EXPECT_EQ(document().mount_targets.size(), 1u);
  const auto status = run_command({binary().string(), "status", "--no-scan"}, e);
  ASSERT_EQ(status.status, 0) << status.output;
  EXPECT_NE(status.output.find("One Zone in us-east-1b"), std::string::npos) << status.output;
}

// What a run would fail on fails status too: with EC2 answering 500, status lists the error and
// exits 1 (as `run --dry-run` does) instead of saying a run would change nothing. Without a count
// (--no-scan) it shows no desired count and no scan figures.
TEST_F(MonitorMoto, StatusSaysWhatARunWouldFailOnAndWhatItDidNotCount) {
  add_files(15);
  testing::FaultProxy ec2(moto_->port());
  auto e = env(10);
  e["AWS_ENDPOINT_URL_EC2"] = ec2.endpoint();
  ec2.inject(testing::Fault::kHttp500, 1000);
  const auto failing = run_command({binary().string(), "status"}, e);
  EXPECT_EQ(failing.status, 1) << failing.output;
  EXPECT_NE(failing.output.find("\nerror         "), std::string::npos) << failing.output;
  const auto dry_run = run_command({binary().string(), "run", "--dry-run"}, e);
  EXPECT_EQ(dry_run.status, 1) << dry_run.output;
  EXPECT_TRUE(mount_targets().empty());

  ec2.inject(testing::Fault::kHttp500, 0);
  const auto unscanned = run_command({binary().string(), "status", "--no-scan", "--json"}, e);
  ASSERT_EQ(unscanned.status, 0) << unscanned.output;
  const json status = json_line_with(unscanned.output, "file_system");
  ASSERT_TRUE(status.is_object()) << unscanned.output;
  EXPECT_TRUE(status["scan"].is_null()) << status.dump();
  EXPECT_TRUE(status["desired_mount_targets"].is_null()) << status.dump();
  EXPECT_TRUE(status["planned_creates"].empty()) << status.dump();
  const auto text = run_command({binary().string(), "status", "--no-scan"}, e);
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_EQ(text.output.find("desired "), std::string::npos) << text.output;
  EXPECT_EQ(text.output.find("scan incomplete"), std::string::npos) << text.output;
}

TEST_F(MonitorMoto, ADirectoryThatCannotBeCountedNeverScales) {
  auto e = env(10);
  e["EFS_TARGET_DIRECTORY"] = "no-such-directory";
  const Outcome outcome = run(e);
  EXPECT_EQ(outcome.status, 3) << outcome.output;  // incomplete count
  EXPECT_EQ(outcome.report["scan"]["complete"], false);
  EXPECT_EQ(outcome.report["scan"]["errors"], 1);
  EXPECT_TRUE(mount_targets().empty());
  EXPECT_NE(outcome.output.find("cannot count files"), std::string::npos);
}

// A damaged scan cache or one that cannot be written costs a full scan, which the run says; it
// counts and reconciles as usual.
TEST_F(MonitorMoto, AnUnusableScanCacheIsReportedAndTheRunGoesOn) {
  add_files(15);
  auto e = env(10);
  const fs::path damaged = dir_.path() / "damaged.cache";
  testing::write_file(damaged, "not a scan cache");
  e["SCAN_CACHE_PATH"] = damaged.string();
  const Outcome first = run(e);
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_EQ(first.report["scan"]["files"], 15);
  EXPECT_NE(first.output.find("scan cache not used: every directory was read"), std::string::npos)
      << first.output;
  EXPECT_EQ(mount_targets().size(), 1u);

  const fs::path unwritable = dir_.path() / "no-such-directory" / "scan.cache";
  e["SCAN_CACHE_PATH"] = unwritable.string();
  const Outcome second = run(e);
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_EQ(second.report["scan"]["files"], 15);
  EXPECT_NE(second.output.find("scan cache not saved: the next scan reads every directory"),
            std::string::npos)
      << second.output;
  EXPECT_NE(second.output.find(unwritable.string()), std::string::npos) << second.output;
}

TEST_F(MonitorMoto, BadConfigurationIsAClearError) {
  auto e = env(10);
  e["FILE_COUNT_THRESHOLD"] = "lots";
  const Outcome outcome = run(e);
  EXPECT_EQ(outcome.status, 1);
  EXPECT_NE(outcome.output.find("FILE_COUNT_THRESHOLD"), std::string::npos) << outcome.output;

  // Named as the variable, not as a flag of another subcommand.
  e = env(10);
  e["SCAN_THREADS"] = "0";
  const Outcome threads = run(e);
  EXPECT_EQ(threads.status, 1);
  EXPECT_NE(threads.output.find("SCAN_THREADS"), std::string::npos) << threads.output;
  EXPECT_EQ(threads.output.find("--threads"), std::string::npos) << threads.output;

  // A flag takes exactly the values its variable takes, and its error names the flag: a negative
  // threshold was once read as 2^64 - 1, with which the system never scales.
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--threshold", "-1"},
                                                        {"--threshold", "99999999999999999999"},
                                                        {"--max-mount-targets", "0x2"},
                                                        {"--force-ecs-deployment", "2"}}) {
    const Outcome refused = run(env(10), {flag, value});
    EXPECT_EQ(refused.status, 1) << flag << " " << value << ": " << refused.output;
    EXPECT_NE(refused.output.find("file-monitor run: " + flag + " must be"), std::string::npos)
        << refused.output;
  }

  // A list that is set but names nothing would widen the candidates to the whole VPC.
  e = env(10);
  e["CANDIDATE_SUBNET_IDS"] = " , ";
  const Outcome no_subnets = run(e);
  EXPECT_EQ(no_subnets.status, 1) << no_subnets.output;
  EXPECT_NE(no_subnets.output.find("CANDIDATE_SUBNET_IDS names no id"), std::string::npos)
      << no_subnets.output;
  EXPECT_TRUE(mount_targets().empty());

  // A flag replaces its variable, bad or not: the variable is not read.
  e = env(10);
  e["LOG_LEVEL"] = "loud";
  e["FILE_COUNT_THRESHOLD"] = "lots";
  const Outcome replaced = run(e, {"--log-level", "warn", "--threshold", "10", "--dry-run"});
  EXPECT_EQ(replaced.status, 0) << replaced.output;
  EXPECT_TRUE(mount_targets().empty());
}

TEST_F(MonitorMoto, LambdaModeReconcilesPerEventAndKeepsTheScanCacheWarm) {
  testing::RuntimeApiFixture api;
  add_files(15);
  auto e = env(10);
  e["AWS_LAMBDA_RUNTIME_API"] = api.host_port();
  e["SCAN_CACHE_PATH"] = (dir_.path() / "scan.cache").string();
  testing::ProcessOptions options;
  options.argv = {binary().string()};  // no arguments: the `bootstrap` form
  options.env = e;
  options.log_file = dir_.path() / "bootstrap.log";
  testing::Process bootstrap(options);

  api.enqueue(R"({"source":"aws.events","detail-type":"Scheduled Event"})");
  json invocations = api.results(60)["invocations"];
  ASSERT_EQ(invocations.size(), 1u) << bootstrap.log();
  ASSERT_EQ(invocations[0]["status"], "succeeded") << invocations.dump();
  EXPECT_EQ(invocations[0]["response"]["created"].size(), 1u);
  EXPECT_TRUE(fs::exists(dir_.path() / "scan.cache"));  // kept in /tmp for the next invocation
  EXPECT_EQ(invocations[0]["response"]["scan"]["cache"], "missing");
  EXPECT_EQ(mount_targets().size(), 1u);

  // Warm invocation: the same process, the cache reused, the second AZ added.
  api.enqueue("{}");
  invocations = api.results(60)["invocations"];
  ASSERT_EQ(invocations.size(), 2u);
  ASSERT_EQ(invocations[1]["status"], "succeeded") << invocations.dump();
  EXPECT_EQ(invocations[1]["response"]["scan"]["cache"], "loaded") << invocations.dump();
  EXPECT_EQ(mount_targets().size(), 2u);

  // An invocation whose deadline has already come: the scan stops at once, no AWS call is sent
  // (none could end in time), and the invocation is answered with the reason, changing nothing
  // even though the tree now wants a third mount target.
  add_files(20);
  api.enqueue("{}", 0);
  invocations = api.results(60)["invocations"];
  ASSERT_EQ(invocations.size(), 3u);
  ASSERT_EQ(invocations[2]["status"], "failed") << invocations.dump();
  EXPECT_NE(invocations[2]["error"]["errorMessage"].get<std::string>().find("deadline"),
            std::string::npos)
      << invocations.dump();
  EXPECT_EQ(mount_targets().size(), 2u);

  // An invocation without a deadline header: the scan runs to the end and the count scales.
  api.enqueue_without_deadline("{}");
  invocations = api.results(60)["invocations"];
  ASSERT_EQ(invocations.size(), 4u);
  ASSERT_EQ(invocations[3]["status"], "succeeded") << invocations.dump();
  EXPECT_EQ(invocations[3]["response"]["scan"]["complete"], true);
  EXPECT_EQ(mount_targets().size(), 3u);

  EXPECT_TRUE(bootstrap.running());
  const std::string log = bootstrap.log();
  EXPECT_NE(log.find("\"request_id\":\"" + invocations[0]["request_id"].get<std::string>()),
            std::string::npos)
      << "log lines carry the request id";
  EXPECT_NE(log.find("\"CloudWatchMetrics\""), std::string::npos);
  EXPECT_NE(log.find("invocation has no Lambda-Runtime-Deadline-Ms"), std::string::npos);
}

// An event {"dry_run": true} runs without acting; one whose dry_run is not a boolean, or that is
// not a JSON object, is refused and changes nothing (taken as "no dry run" it would have acted);
// an empty payload is a plain run.
TEST_F(MonitorMoto, LambdaModeDryRunEventsActOnNothingAndMalformedOnesAreRefused) {
  testing::RuntimeApiFixture api;
  add_files(15);
  auto e = env(10);
  e["AWS_LAMBDA_RUNTIME_API"] = api.host_port();
  testing::ProcessOptions options;
  options.argv = {binary().string(), "lambda"};
  options.env = e;
  options.log_file = dir_.path() / "bootstrap.log";
  testing::Process bootstrap(options);

  api.enqueue(R"({"dry_run": true})");
  api.enqueue(R"({"dry_run": "true"})");
  api.enqueue(R"({"dry_run": 1})");
  api.enqueue("not json");
  api.enqueue("[]");
  json invocations = api.results(60)["invocations"];
  ASSERT_EQ(invocations.size(), 5u) << bootstrap.log();
  ASSERT_EQ(invocations[0]["status"], "succeeded") << invocations.dump();
  EXPECT_EQ(invocations[0]["response"]["dry_run"], true);
  EXPECT_EQ(invocations[0]["response"]["planned_creates"].size(), 1u);
  EXPECT_EQ(invocations[0]["response"]["created"].size(), 0u);
  for (std::size_t i = 1; i < 5; ++i) {
    ASSERT_EQ(invocations[i]["status"], "failed") << invocations.dump();
    EXPECT_EQ(invocations[i]["error"]["errorType"], "Runtime.InvalidEvent") << invocations.dump();
  }
  EXPECT_TRUE(mount_targets().empty());
  EXPECT_FALSE(parameter().has_value());

  api.enqueue("");
  invocations = api.results(60)["invocations"];
  ASSERT_EQ(invocations.size(), 6u);
  ASSERT_EQ(invocations[5]["status"], "succeeded") << invocations.dump();
  EXPECT_EQ(invocations[5]["response"]["dry_run"], false);
  EXPECT_EQ(mount_targets().size(), 1u);
}

TEST_F(MonitorMoto, LambdaModeReportsAFailedRunAndServesTheNextEvent) {
  testing::RuntimeApiFixture api;
  add_files(1);
  auto e = env(10);
  e["AWS_LAMBDA_RUNTIME_API"] = api.host_port();
  // Nothing listens here: every AWS call fails after its retries.
  e["AWS_ENDPOINT_URL"] = "http://127.0.0.1:" + std::to_string(testing::free_port());
  e["LOG_LEVEL"] = "debug";
  testing::ProcessOptions options;
  options.argv = {binary().string(), "lambda"};
  options.env = e;
  options.log_file = dir_.path() / "bootstrap.log";
  testing::Process bootstrap(options);

  api.enqueue("{}");
  api.enqueue("{}");
  const json invocations = api.results(60)["invocations"];
  ASSERT_EQ(invocations.size(), 2u);
  for (const auto& invocation : invocations) {
    ASSERT_EQ(invocation["status"], "failed") << invocations.dump();
    EXPECT_EQ(invocation["error"]["errorType"].get<std::string>().rfind("Reconcile.", 0), 0u);
    EXPECT_FALSE(invocation["error"]["errorMessage"].get<std::string>().empty());
  }
  EXPECT_TRUE(bootstrap.running());
  // The AWS client's own lines carry the invocation they belong to.
  std::set<std::string> ids;
  for (const auto& invocation : invocations) ids.insert(invocation["request_id"]);
  std::set<std::string> logged;
  std::istringstream lines(testing::read_file(dir_.path() / "bootstrap.log"));
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("message", "") == "aws request") {
      ASSERT_TRUE(j.contains("request_id")) << line;
      logged.insert(j["request_id"].get<std::string>());
    }
  }
  EXPECT_EQ(logged, ids);
}

TEST_F(MonitorMoto, LambdaModeReportsBadConfigurationAsAnInitError) {
  testing::RuntimeApiFixture api;
  auto e = env(10);
  e["AWS_LAMBDA_RUNTIME_API"] = api.host_port();
  testing::ProcessOptions options;
  options.argv = {binary().string()};
  options.env = e;
  options.unset_env = {"EFS_FILE_SYSTEM_ID"};
  options.env.erase("EFS_FILE_SYSTEM_ID");
  options.log_file = dir_.path() / "bootstrap.log";
  testing::Process bootstrap(options);
  EXPECT_EQ(bootstrap.wait(std::chrono::seconds(30)), 1);
  const json results = api.results(5);
  ASSERT_TRUE(results["init_error"].is_object()) << results.dump();
  EXPECT_EQ(results["init_error"]["body"]["errorType"], "Runtime.InvalidConfiguration");
  EXPECT_NE(
      results["init_error"]["body"]["errorMessage"].get<std::string>().find("EFS_FILE_SYSTEM_ID"),
      std::string::npos);
}

}  // namespace
}  // namespace efsas::monitor
