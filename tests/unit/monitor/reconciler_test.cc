// A reconcile run over an in-memory CloudApi: the paths moto cannot show (mount targets that stay
// `creating`, a parameter that changes between reads, failing calls) and the run's outputs.
#include "efsas/monitor/reconciler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "efsas/monitor/run.h"
#include "efsas/testing/process.h"
#include "fake_cloud.h"

namespace efsas::monitor {
namespace {

using testing::FakeCloud;
using testing::kFs;

// An available mount target in us-east-1a, made before the run.
MountTarget target_in_a() {
  return {"fsmt-0000abcd", "us-east-1a", "use1-az1", "subnet-0000000a", "10.0.0.99", "available"};
}

// Another writer's document, written right after the run's `nth` GetParameter (the second is the
// read just before publishing, so it lands between that read and the run's write).
void write_after_read(FakeCloud& cloud, int nth, std::vector<MountTarget> targets,
                      std::uint64_t generation, std::int64_t version) {
  auto gets = std::make_shared<int>(0);
  const MountTargetList other{kFs, generation, "2026-01-01T00:00:00.000Z", std::move(targets)};
  cloud.after_get = [&cloud, gets, nth, other, version] {
    if (++*gets == nth) {
      cloud.parameter = ParameterValue{*serialize_mount_target_list(other), version, std::nullopt};
    }
  };
}

MonitorConfig config(std::uint64_t threshold = 100) {
  MonitorConfig c;
  c.file_system_id = kFs;
  c.file_count_threshold = threshold;
  c.candidate_subnet_ids = {"subnet-0000000c", "subnet-0000000a", "subnet-0000000b"};
  c.ecs_cluster_name = "cluster";
  c.ecs_service_name = "file-service";
  return c;
}

ScanSummary scan(std::uint64_t files, bool complete = true) { return {files, 2, 0.5, complete}; }

MountTargetList published(const FakeCloud& cloud) {
  auto list = parse_mount_target_list(cloud.parameter->value);
  EXPECT_TRUE(list.ok()) << list.error().to_string();
  return list.ok() ? *list : MountTargetList{};
}

TEST(Reconcile, FreshSystemCreatesOneTargetPublishesAndDeploys) {
  FakeCloud cloud;
  ManualClock clock;
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  ASSERT_EQ(report->created.size(), 1u);
  EXPECT_EQ(report->created[0].availability_zone, "us-east-1a");
  EXPECT_TRUE(report->published);
  const MountTargetList list = published(cloud);
  EXPECT_EQ(list.generation, 1u);
  ASSERT_EQ(list.mount_targets.size(), 1u);  // published from a fresh read after creating
  EXPECT_EQ(list.mount_targets[0].id, report->created[0].id);
  EXPECT_EQ(cloud.deployments, 1);

  // A second run with nothing new changes nothing.
  auto again = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->created.empty());
  EXPECT_FALSE(again->published);
  EXPECT_EQ(cloud.puts.size(), 1u);
  EXPECT_EQ(cloud.deployments, 1);
}

TEST(Reconcile, CreatingTargetIsPublishedOnlyOnceAvailable) {
  FakeCloud cloud;
  cloud.new_target_state = "creating";
  ManualClock clock;
  auto first = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->created.size(), 1u);
  EXPECT_TRUE(published(cloud).mount_targets.empty());  // created, but not usable yet

  auto second = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->created.empty());  // its AZ is taken while it is creating
  EXPECT_FALSE(second->published);

  cloud.targets[0].state = "available";
  auto third = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->published);
  EXPECT_EQ(published(cloud).generation, 2u);
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
}

TEST(Reconcile, ConflictMeansSomeoneElseCreatedItAndIsNotAnError) {
  FakeCloud cloud;
  ManualClock clock;
  // Another run creates in us-east-1a between our DescribeMountTargets and CreateMountTarget.
  cloud.before_create = [&] {
    if (cloud.targets.empty()) {
      cloud.targets.push_back(MountTarget{"fsmt-0000abcd", "us-east-1a", "use1-az1",
                                          "subnet-0000000a", "10.0.0.99", "available"});
    }
  };
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_TRUE(report->created.empty());
  EXPECT_EQ(report->conflicts, std::vector<std::string>{"us-east-1a"});
  EXPECT_EQ(cloud.targets.size(), 1u);
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
  // The metric counts the mount target the AZ has now, whoever made it (a retried create of this
  // run's own, which EFS answers with a conflict, too).
  const auto emf = nlohmann::json::parse(emf_line(kFs, scan(10), &*report, clock.now()));
  EXPECT_EQ(emf["MountTargets"], 1);
}

// EFS answers MountTargetConflict also for a subnet in another VPC: with no mount target in the
// AZ afterwards, that is an error, and the run goes on to the next AZ.
TEST(Reconcile, AConflictWithNoMountTargetInTheAzIsAnErrorAndTheNextAzIsTried) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.refused["subnet-0000000a"] = "MountTargetConflict";
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->conflicts.empty());
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_NE(report->errors[0].find("MountTargetConflict"), std::string::npos);
  EXPECT_NE(report->errors[0].find("subnet-0000000a"), std::string::npos);
  ASSERT_EQ(report->created.size(), 1u);
  EXPECT_EQ(report->created[0].availability_zone, "us-east-1b");
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
}

TEST(Reconcile, ASubnetThatKeepsFailingDoesNotBlockTheOtherAzs) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.refused["subnet-0000000b"] = "UnsupportedAvailabilityZone";
  for (int run = 0; run < 2; ++run) {
    auto report = reconcile(cloud, config(10), scan(25), clock, Logger());
    ASSERT_TRUE(report.ok());
    ASSERT_EQ(report->errors.size(), 1u);
    EXPECT_NE(report->errors[0].find("UnsupportedAvailabilityZone"), std::string::npos);
  }
  std::set<std::string> azs;
  for (const auto& t : cloud.targets) azs.insert(t.availability_zone);
  EXPECT_EQ(azs, (std::set<std::string>{"us-east-1a", "us-east-1c"}));
}

// A create whose answer is lost (a timeout after the retries) may have made its mount target: the
// run creates no other, which could pass the desired count, and the next run sees what exists.
TEST(Reconcile, ACreateWhoseOutcomeIsUnknownEndsTheRunsCreations) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.creates_that_time_out = 1;
  MonitorConfig c = config(100);
  c.max_creates_per_run = 3;
  auto report = reconcile(cloud, c, scan(150), clock, Logger());
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_NE(report->errors[0].find("timed out"), std::string::npos);
  EXPECT_TRUE(report->created.empty());
  ASSERT_EQ(cloud.targets.size(), 1u);  // the lost answer's mount target, and no second one
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);

  // The next run finds it in us-east-1a and adds the second one the count asks for.
  auto next = reconcile(cloud, c, scan(150), clock, Logger());
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->ok());
  ASSERT_EQ(next->created.size(), 1u);
  EXPECT_EQ(next->created[0].availability_zone, "us-east-1b");
  EXPECT_EQ(cloud.targets.size(), 2u);
}

// A refusal about the file system, its security groups or the account would meet every other
// subnet too: one attempt, not one per AZ.
TEST(Reconcile, ARefusalEverySubnetWouldMeetIsTriedOnce) {
  FakeCloud cloud;
  ManualClock clock;
  int attempts = 0;
  cloud.before_create = [&] { ++attempts; };
  for (const auto& s : cloud.subnets) cloud.refused[s.id] = "SecurityGroupNotFound";
  MonitorConfig c = config(100);
  c.max_creates_per_run = 3;
  auto report = reconcile(cloud, c, scan(250), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(attempts, 1);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_NE(report->errors[0].find("SecurityGroupNotFound"), std::string::npos);
  EXPECT_TRUE(cloud.targets.empty());
  EXPECT_TRUE(report->published);  // the (empty) list is still created
}

// EFS's listing may not show a mount target for a moment after CreateMountTarget returned. A run
// allowed several creations does not take that for a free AZ: it goes on to the next AZ, and its
// metric counts each mount target once.
TEST(Reconcile, AMountTargetTheListingDoesNotShowYetStillHoldsItsAz) {
  FakeCloud cloud;
  ManualClock clock;
  MonitorConfig c = config(100);
  c.max_creates_per_run = 2;
  int creates = 0;
  cloud.before_create = [&] {
    if (++creates == 1) cloud.listings_behind = 1;  // the listing after this create lags
  };
  auto report = reconcile(cloud, c, scan(250), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  ASSERT_EQ(report->created.size(), 2u);
  EXPECT_NE(report->created[0].availability_zone, report->created[1].availability_zone);
  EXPECT_TRUE(report->conflicts.empty());
  EXPECT_EQ(creates, 2);
  const auto emf = nlohmann::json::parse(emf_line(kFs, scan(250), &*report, clock.now()));
  EXPECT_EQ(emf["MountTargets"], 2);
}

// DescribeFileSystems says a file system is One Zone: its one mount target goes in its AZ, however
// many files and candidate AZs there are.
TEST(Reconcile, AOneZoneFileSystemGetsItsMountTargetInItsOwnAzOnly) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.one_zone_az = "us-east-1b";
  MonitorConfig c = config(100);
  c.max_creates_per_run = 3;
  for (int run = 0; run < 2; ++run) {
    auto report = reconcile(cloud, c, scan(1000), clock, Logger());
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok()) << report->to_text();
    EXPECT_EQ(report->plan.desired_mount_targets, 1);
  }
  ASSERT_EQ(cloud.targets.size(), 1u);
  EXPECT_EQ(cloud.targets[0].availability_zone, "us-east-1b");
}

// Publishing needs no DescribeFileSystems: when it fails, the run reports it, creates nothing (the
// file system could be One Zone, or not available) and still keeps the document up to date.
TEST(Reconcile, AFileSystemThatCannotBeDescribedStopsCreatingNotPublishing) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.fail_describe_file_system = true;
  auto report = reconcile(cloud, config(10), scan(25), clock, Logger());
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_TRUE(report->created.empty());
  EXPECT_EQ(cloud.targets.size(), 1u);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_NE(report->errors[0].find("DescribeFileSystems"), std::string::npos);
  EXPECT_TRUE(report->published);
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
}

TEST(Reconcile, CandidateSubnetsOfAnotherVpcAreLeftOutWithANote) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.subnets[1].vpc_id = "vpc-2";  // us-east-1b
  auto report = reconcile(cloud, config(10), scan(25), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  ASSERT_EQ(report->created.size(), 1u);
  EXPECT_EQ(report->created[0].availability_zone, "us-east-1c");
  const auto& notes = report->plan.notes;
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("subnet-0000000b is in vpc-2") != std::string::npos;
  })) << report->to_json().dump();
}

// Another run's creation lands between this run's DescribeMountTargets and DescribeSubnets and
// takes the last address of its subnet: this run must see that mount target, not only the full
// subnet, or it would create in a third AZ above the desired count.
TEST(Reconcile, RacingRunsNeverPassTheDesiredCount) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.subnets[1].available_ip_addresses = 1;
  cloud.before_describe_subnets = [&] {
    if (cloud.targets.size() == 1) {
      cloud.targets.push_back(MountTarget{"fsmt-0000beef", "us-east-1b", "use1-az2",
                                          "subnet-0000000b", "10.0.1.99", "creating"});
      cloud.subnets[1].available_ip_addresses = 0;
    }
  };
  MonitorConfig c = config(10);
  c.max_mount_targets = 2;
  auto report = reconcile(cloud, c, scan(25), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->created.empty());
  EXPECT_EQ(cloud.targets.size(), 2u);
}

// SSM has no conditional write: a writer that comes between this run's read and its write shows
// in the version the write gets. The run writes again, above it, from fresh reads.
TEST(Reconcile, AWriterBetweenReadAndWriteIsFollowedByAHigherGeneration) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  // A stale run publishes a deleted mount target.
  std::vector<MountTarget> stale = cloud.targets;
  stale.push_back(MountTarget{"fsmt-0000dead", "us-east-1b", "use1-az2", "subnet-0000000b",
                              "10.0.1.99", "available"});
  write_after_read(cloud, 2, stale, 1, 1);
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  EXPECT_EQ(cloud.puts.size(), 2u);
  const MountTargetList list = published(cloud);
  EXPECT_GT(list.generation, 1u);  // above the other writer's, which readers may hold
  ASSERT_EQ(list.mount_targets.size(), 1u);
  EXPECT_EQ(list.mount_targets[0].id, "fsmt-0000abcd");
  EXPECT_EQ(report->published_generation, list.generation);
  EXPECT_EQ(cloud.deployments, 1);
}

// Runs that saw the same mount targets publish the same content under the same generation:
// whichever write stands, readers hold what exists, so one write each is enough.
TEST(Reconcile, AWriterWithTheSameContentBetweenReadAndWriteNeedsNoSecondWrite) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  write_after_read(cloud, 2, cloud.targets, 1, 1);
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  EXPECT_EQ(cloud.puts.size(), 1u);
  EXPECT_EQ(cloud.history_reads, 1);
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
  // The report shows the document written, not the empty plan of the round after it.
  const nlohmann::json json = report->to_json();
  ASSERT_TRUE(json["planned_publish"].is_object()) << json.dump();
  EXPECT_EQ(json["planned_publish"]["generation"], published(cloud).generation);
}

// A write stands whatever fails after it: the ECS service is redeployed for it.
TEST(Reconcile, AFailedReadAfterARacedWriteStillRedeploysTheService) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  write_after_read(cloud, 2, {}, 1, 1);
  cloud.fail_gets_from = 3;  // the read after the raced write
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->published);
  ASSERT_EQ(report->errors.size(), 1u) << report->to_json().dump();
  EXPECT_NE(report->errors[0].find("GetParameter"), std::string::npos);
  EXPECT_EQ(cloud.deployments, 1);
  EXPECT_TRUE(report->ecs_deployment_forced);
}

// A stale writer's document in between with a lower generation: readers that took it move on to
// this run's higher one, so nothing is written again.
TEST(Reconcile, AWriterWithALowerGenerationInBetweenNeedsNoSecondWrite) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.parameter = ParameterValue{
      *serialize_mount_target_list({kFs, 5, "2026-01-01T00:00:00.000Z", {}}), 5, std::nullopt};
  write_after_read(cloud, 2, {}, 3, 6);
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  EXPECT_EQ(cloud.puts.size(), 1u);
  EXPECT_EQ(published(cloud).generation, 6u);
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
}

// Without the parameter's history the run cannot tell what readers hold: it goes above it, and
// says that the history could not be read.
TEST(Reconcile, ARaceWhoseHistoryCannotBeReadIsAnsweredWithAHigherGeneration) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.fail_history = true;
  write_after_read(cloud, 2, cloud.targets, 1, 1);
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(cloud.puts.size(), 2u);
  EXPECT_EQ(published(cloud).generation, 3u);  // above version 2, this run's first write
  ASSERT_EQ(report->errors.size(), 1u) << report->to_json().dump();
  EXPECT_NE(report->errors[0].find("GetParameterHistory"), std::string::npos);
}

// Writing again without the history each time it is raced, runs that agree would keep writing
// above each other: it is done once.
TEST(Reconcile, WithoutTheHistoryARunWritesAgainOnlyOnce) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.fail_history = true;
  int gets = 0;
  cloud.after_get = [&] {  // an agreeing writer after each of the run's reads before a write
    if (++gets < 2 || gets > 3) return;
    const auto version = cloud.parameter ? cloud.parameter->version + 1 : 1;
    const MountTargetList same{kFs, static_cast<std::uint64_t>(version), "2026-01-01T00:00:00.000Z",
                               cloud.targets};
    cloud.parameter = ParameterValue{*serialize_mount_target_list(same), version, std::nullopt};
  };
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(cloud.puts.size(), 2u);
  for (const auto& error : report->errors) {
    EXPECT_NE(error.find("GetParameterHistory"), std::string::npos) << error;
  }
}

// A generation can be above the parameter's version (one salvaged from a malformed document, a
// parameter deleted and written again). Two writers come between this run's read and its write,
// the second with a generation above this run's.
class GenerationsAboveVersions : public ::testing::Test {
 protected:
  void SetUp() override {
    cloud.targets.push_back(target_in_a());
    cloud.parameter = ParameterValue{
        *serialize_mount_target_list({kFs, 110, "2026-01-01T00:00:00.000Z", {}}), 10, std::nullopt};
  }
  void writers_between(const std::vector<MountTarget>& first,
                       const std::vector<MountTarget>& second) {
    cloud.after_get = [this, first, second, gets = 0]() mutable {
      if (++gets != 2) return;
      cloud.parameter = ParameterValue{
          *serialize_mount_target_list({kFs, 111, "2026-01-01T00:00:00.000Z", first}), 11,
          std::nullopt};
      cloud.record_history();
      cloud.parameter = ParameterValue{
          *serialize_mount_target_list({kFs, 112, "2026-01-01T00:00:00.000Z", second}), 12,
          std::nullopt};
    };
  }

  FakeCloud cloud;
  ManualClock clock;
};

// Readers may hold generation 112: this run's document (111, version 13) would stand below it.
// Written again, it goes above 112, not only above the version.
TEST_F(GenerationsAboveVersions, AHigherGenerationInBetweenIsOutrankedWhateverItsContent) {
  writers_between({}, {});
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  EXPECT_EQ(cloud.puts.size(), 2u);
  EXPECT_EQ(published(cloud).generation, 113u);
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
}

// The same content under a higher generation is written again too: the document standing must
// carry the highest generation, or the next change would be published at or below it.
TEST_F(GenerationsAboveVersions, TheSameContentUnderAHigherGenerationIsWrittenAgainAboveIt) {
  writers_between(cloud.targets, cloud.targets);
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  EXPECT_EQ(cloud.puts.size(), 2u);
  EXPECT_EQ(published(cloud).generation, 113u);
}

// Another run creates a mount target and publishes it between this run's DescribeMountTargets
// and its read of the parameter: the document this run then reads is newer than the mount
// targets it read, and must not be replaced by them.
TEST(Reconcile, AMountTargetAnotherRunPublishedIsNeverPublishedAway) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  int gets = 0;
  cloud.before_get = [&] {
    if (++gets == 2) {  // the read just before publishing
      cloud.targets.push_back(MountTarget{"fsmt-0000beef", "us-east-1b", "use1-az2",
                                          "subnet-0000000b", "10.0.1.99", "available"});
      MountTargetList theirs{kFs, 1, "2026-01-01T00:00:00.000Z", cloud.targets};
      cloud.parameter = ParameterValue{*serialize_mount_target_list(theirs), 1, std::nullopt};
    }
  };
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  EXPECT_TRUE(cloud.puts.empty());
  EXPECT_EQ(published(cloud).mount_targets.size(), 2u);
}

TEST(Reconcile, WritersThatKeepRacingAreReportedAfterThreeWrites) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.after_get = [&] {
    const std::int64_t version = cloud.parameter ? cloud.parameter->version + 1 : 1;
    MountTargetList other{kFs, static_cast<std::uint64_t>(version), "2026-01-01T00:00:00.000Z", {}};
    cloud.parameter = ParameterValue{*serialize_mount_target_list(other), version, std::nullopt};
  };
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(cloud.puts.size(), 3u);
  ASSERT_FALSE(report->ok());
  EXPECT_NE(report->errors.back().find("other writers are racing"), std::string::npos);
}

TEST(Reconcile, AMountTargetWithoutAnIpv4AddressIsLeftOutNotBlockingTheRest) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.targets.push_back(MountTarget{"fsmt-0000beef", "us-east-1b", "use1-az2", "subnet-0000000b",
                                      "", "available"});  // IPv6 only
  auto report = reconcile(cloud, config(10), scan(15), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_json().dump();
  const MountTargetList list = published(cloud);
  ASSERT_EQ(list.mount_targets.size(), 1u);
  EXPECT_EQ(list.mount_targets[0].id, "fsmt-0000abcd");
  const auto& notes = report->plan.notes;
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("fsmt-0000beef in us-east-1b has no IPv4 address") != std::string::npos;
  }));
}

TEST(Reconcile, AGenerationAtItsMaximumIsAnErrorNotAWrapToZero) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  const MountTargetList at_max{
      kFs, std::numeric_limits<std::uint64_t>::max(), "2026-01-01T00:00:00.000Z", {}};
  const std::string text = *serialize_mount_target_list(at_max);
  cloud.parameter = ParameterValue{text, 4, std::nullopt};
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->published);
  ASSERT_FALSE(report->ok());
  EXPECT_NE(report->errors[0].find("generation is at its maximum"), std::string::npos);
  EXPECT_EQ(cloud.parameter->value, text);
  EXPECT_TRUE(cloud.puts.empty());
}

TEST(Reconcile, NeverLowersAGenerationWrittenByARacingRun) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  write_after_read(cloud, 1, {}, 30, 5);  // generation 30 with other content
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->published);
  EXPECT_EQ(published(cloud).generation, 31u);
}

// `file-monitor run`'s summary says what the run did, not what it first planned. Here another
// run publishes the same document between this run's first read and its write: nothing is
// written or redeployed, and nothing failed. The next change is published and redeployed.
TEST(Reconcile, TheTextSummarySaysWhatWasDoneNotWhatWasFirstPlanned) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  write_after_read(cloud, 1, {target_in_a()}, 1, 1);
  auto raced = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(raced.ok());
  EXPECT_TRUE(raced->ok()) << raced->to_json().dump();
  EXPECT_TRUE(cloud.puts.empty());
  EXPECT_EQ(cloud.deployments, 0);
  const std::string quiet = raced->to_text();
  EXPECT_NE(quiet.find("\ndocument         unchanged\n"), std::string::npos) << quiet;
  EXPECT_EQ(quiet.find("ECS"), std::string::npos) << quiet;
  EXPECT_EQ(quiet.find("fail"), std::string::npos) << quiet;

  cloud.after_get = nullptr;
  cloud.targets.push_back(
      {"fsmt-0000beef", "us-east-1b", "use1-az2", "subnet-0000000b", "10.0.1.9", "available"});
  auto changed = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(cloud.deployments, 1);
  const std::string text = changed->to_text();
  EXPECT_NE(text.find("\npublished        generation 2 with 2 mount target(s)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nredeployed ECS service\n"), std::string::npos) << text;
}

TEST(Reconcile, MalformedParameterIsReportedAndReplacedAboveItsGeneration) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.parameter =
      ParameterValue{R"({"schema_version": 1, "generation": 17, "oops": true})", 3, std::nullopt};
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  const nlohmann::json json = report->to_json();
  EXPECT_EQ(json["document"]["state"], "malformed");
  EXPECT_FALSE(json["document"]["problem"].get<std::string>().empty());
  EXPECT_EQ(published(cloud).generation, 18u);

  cloud.parameter = ParameterValue{"not json at all", 9, std::nullopt};
  report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(published(cloud).generation, 10u);  // above the parameter's own version
}

TEST(Reconcile, DocumentOfAnotherFileSystemIsReplaced) {
  FakeCloud cloud;
  ManualClock clock;
  MountTargetList other{"fs-99999999", 4, "2026-01-01T00:00:00.000Z", {}};
  cloud.parameter = ParameterValue{*serialize_mount_target_list(other), 1, std::nullopt};
  auto report = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(published(cloud).file_system_id, kFs);
  EXPECT_EQ(published(cloud).generation, 5u);
}

TEST(Reconcile, DryRunChangesNothingAndSaysWhatItWouldDo) {
  FakeCloud cloud;
  ManualClock clock;
  MonitorConfig c = config();
  c.dry_run = true;
  auto report = reconcile(cloud, c, scan(350), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(cloud.mutations, 0);
  const nlohmann::json json = report->to_json();
  EXPECT_EQ(json["dry_run"], true);
  EXPECT_EQ(json["desired_mount_targets"], 3);
  ASSERT_EQ(json["planned_creates"].size(), 1u);
  EXPECT_EQ(json["planned_creates"][0]["subnet_id"], "subnet-0000000a");
  EXPECT_TRUE(json["planned_publish"].is_object());
}

TEST(Reconcile, PartialScanDoesNotScale) {
  FakeCloud cloud;
  ManualClock clock;
  auto report = reconcile(cloud, config(), scan(100000, false), clock, Logger());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->created.empty());
  EXPECT_FALSE(report->plan.scaling_allowed);
}

TEST(Reconcile, DiscoversSubnetsFromAnExistingTargetsVpc) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.subnets.push_back({"subnet-0000000d", "us-east-1d", "use1-az4", "vpc-other", 100});
  cloud.targets.push_back(target_in_a());
  MonitorConfig c = config();
  c.candidate_subnet_ids.clear();
  auto report = reconcile(cloud, c, scan(150), clock, Logger());
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->observed.subnets.size(), 3u);  // vpc-1 only
  ASSERT_EQ(report->created.size(), 1u);
  EXPECT_EQ(report->created[0].availability_zone, "us-east-1b");

  // With no mount target there is no VPC to discover: a clear error.
  FakeCloud empty;
  auto failed = reconcile(empty, c, scan(150), clock, Logger());
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("CANDIDATE_SUBNET_IDS"), std::string::npos);
}

// A run with target_in_a() in place: nothing failed, vpc-1's three subnets are the candidates, and
// the one mount target created is in us-east-1b.
void expect_vpc1_run_creating_in_b(const Result<RunReport>& report) {
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_TRUE(report->errors.empty()) << report->errors.front();
  EXPECT_EQ(report->observed.subnets.size(), 3u);
  ASSERT_EQ(report->created.size(), 1u);
  EXPECT_EQ(report->created[0].availability_zone, "us-east-1b");
}

// A subnet CANDIDATE_SUBNET_IDS names that no longer exists (deleted with its mount target, say)
// is left out, said so; EC2 refuses the whole request for it, and the others are still used.
TEST(Reconcile, ACandidateSubnetThatNoLongerExistsIsLeftOut) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  MonitorConfig c = config();
  c.candidate_subnet_ids.push_back("subnet-0000dead");
  auto report = reconcile(cloud, c, scan(150), clock, Logger());
  ASSERT_NO_FATAL_FAILURE(expect_vpc1_run_creating_in_b(report));
  const auto& notes = report->observed.notes;
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n == "subnet-0000dead (CANDIDATE_SUBNET_IDS) does not exist: left out";
  }));
  EXPECT_EQ(published(cloud).mount_targets.size(), 2u);
}

// Discovery finds the VPC from a mount target whose subnet still exists: the first one EFS lists
// may be on its way out, its subnet already deleted.
TEST(Reconcile, DiscoveryLooksPastAMountTargetWhoseSubnetIsGone) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(
      {"fsmt-0000dead", "us-east-1c", "use1-az3", "subnet-0000dead", "10.0.9.9", "deleting"});
  cloud.targets.push_back(target_in_a());
  MonitorConfig c = config();
  c.candidate_subnet_ids.clear();
  auto report = reconcile(cloud, c, scan(150), clock, Logger());
  ASSERT_NO_FATAL_FAILURE(expect_vpc1_run_creating_in_b(report));
}

// Publishing needs no subnets. When they cannot be read, the run still publishes what exists (here
// a mount target deleted since the last document goes out of it), creates nothing, and fails
// with the reason.
TEST(Reconcile, SubnetsThatCannotBeReadStopCreatingNotPublishing) {
  FakeCloud cloud;
  ManualClock clock;
  cloud.targets.push_back(target_in_a());
  cloud.targets.push_back(
      {"fsmt-0000beef", "us-east-1b", "use1-az2", "subnet-0000000b", "10.0.1.9", "available"});
  ASSERT_TRUE(reconcile(cloud, config(), scan(150), clock, Logger()).ok());
  ASSERT_EQ(published(cloud).mount_targets.size(), 2u);
  const std::uint64_t before = published(cloud).generation;

  cloud.targets.pop_back();
  cloud.fail_subnets = "UnauthorizedOperation";
  auto report = reconcile(cloud, config(), scan(250), clock, Logger());
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_TRUE(report->created.empty());
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_NE(report->errors[0].find("candidate subnets"), std::string::npos) << report->errors[0];
  EXPECT_NE(report->errors[0].find("UnauthorizedOperation"), std::string::npos)
      << report->errors[0];
  EXPECT_TRUE(report->published);
  const MountTargetList now = published(cloud);
  EXPECT_GT(now.generation, before);
  ASSERT_EQ(now.mount_targets.size(), 1u);
  EXPECT_EQ(now.mount_targets[0].id, "fsmt-0000abcd");
}

// An ECS failure after publishing is reported. The document is unchanged on the next run, but
// the service was not deployed since it changed: that run forces the deployment; the one after
// has nothing to do.
TEST(Reconcile, AnEcsFailureAfterPublishingIsReportedAndMadeGoodByTheNextRun) {
  FakeCloud cloud;
  cloud.fail_ecs = true;
  ManualClock clock;
  auto first = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->published);
  EXPECT_FALSE(first->ecs_deployment_forced);
  ASSERT_EQ(first->errors.size(), 1u);
  EXPECT_NE(first->errors[0].find("UpdateService"), std::string::npos);
  EXPECT_EQ(cloud.deployments, 0);

  cloud.fail_ecs = false;
  auto second = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->ok()) << second->to_json().dump();
  EXPECT_FALSE(second->published);
  EXPECT_TRUE(second->ecs_deployment_forced);
  EXPECT_EQ(cloud.deployments, 1);

  auto third = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->ecs_deployment_forced);
  EXPECT_EQ(cloud.deployments, 1);

  // Without ECS settings or with FORCE_ECS_DEPLOYMENT off, no run asks ECS anything.
  cloud.deployed_at = std::nullopt;
  MonitorConfig off = config();
  off.force_ecs_deployment = false;
  auto fourth = reconcile(cloud, off, scan(10), clock, Logger());
  ASSERT_TRUE(fourth.ok());
  EXPECT_FALSE(fourth->ecs_deployment_forced);
  EXPECT_EQ(cloud.deployments, 1);
}

TEST(Reconcile, AFailureHalfWayIsRepairedByTheNextRun) {
  FakeCloud cloud;
  cloud.failing_puts = 1;
  ManualClock clock;
  auto broken = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(broken.ok());
  EXPECT_FALSE(broken->ok());  // the mount target exists, the document was not written
  EXPECT_EQ(broken->created.size(), 1u);
  EXPECT_FALSE(cloud.parameter.has_value());
  EXPECT_EQ(cloud.deployments, 0);

  auto repaired = reconcile(cloud, config(), scan(10), clock, Logger());
  ASSERT_TRUE(repaired.ok());
  EXPECT_TRUE(repaired->ok());
  EXPECT_TRUE(repaired->created.empty());  // its AZ is already served
  EXPECT_TRUE(repaired->published);
  EXPECT_EQ(published(cloud).mount_targets.size(), 1u);
  EXPECT_EQ(cloud.deployments, 1);
}

std::vector<std::string> metric_names(const nlohmann::json& emf) {
  std::vector<std::string> names;
  for (const auto& m : emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]) {
    names.push_back(m["Name"]);
    EXPECT_TRUE(emf.contains(m["Name"])) << m["Name"] << " is declared without a value";
  }
  return names;
}

TEST(Reconcile, EmfLineCarriesTheMetricsAndDimension) {
  FakeCloud cloud;
  ManualClock clock;
  auto report = reconcile(cloud, config(), scan(250), clock, Logger());
  ASSERT_TRUE(report.ok());
  const auto emf = nlohmann::json::parse(emf_line(kFs, scan(250), &*report, clock.now()));
  const auto& directive = emf["_aws"]["CloudWatchMetrics"][0];
  EXPECT_EQ(directive["Namespace"], "EfsMountAutoscaling");
  EXPECT_EQ(directive["Dimensions"], nlohmann::json::parse(R"([["FileSystemId"]])"));
  EXPECT_EQ(metric_names(emf),
            (std::vector<std::string>{"FileCount", "MountTargets", "DesiredMountTargets",
                                      "ScanSeconds", "ScanErrors", "ScanComplete", "RunErrors"}));
  EXPECT_EQ(emf["FileSystemId"], kFs);
  EXPECT_EQ(emf["FileCount"], 250);
  EXPECT_EQ(emf["ScanComplete"], 1);
  EXPECT_EQ(emf["MountTargets"], 1);
  EXPECT_EQ(emf["DesiredMountTargets"], 3);
  EXPECT_EQ(emf["ScanErrors"], 2);
  EXPECT_EQ(emf["RunErrors"], 0);
  EXPECT_EQ(emf["_aws"]["Timestamp"], 1'700'000'000'000LL);
}

// A partial count is a lower bound: graphed as FileCount it would show the file system shrinking.
// The run's other figures still go out, and its failed actions are counted.
TEST(Reconcile, EmfLineOfAPartialScanLeavesOutTheCountAndWhatFollowsFromIt) {
  FakeCloud cloud;
  cloud.targets = {target_in_a()};
  cloud.fail_ecs = true;
  cloud.failing_puts = 1;
  ManualClock clock;
  auto report = reconcile(cloud, config(), scan(250, false), clock, Logger());
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->ok());
  const auto emf = nlohmann::json::parse(emf_line(kFs, scan(250, false), &*report, clock.now()));
  EXPECT_EQ(metric_names(emf),
            (std::vector<std::string>{"MountTargets", "ScanSeconds", "ScanErrors", "ScanComplete",
                                      "RunErrors"}));
  EXPECT_FALSE(emf.contains("FileCount"));
  EXPECT_EQ(emf["ScanComplete"], 0);
  EXPECT_EQ(emf["MountTargets"], 1);
  EXPECT_EQ(emf["RunErrors"], report->errors.size());
}

// A run that cannot read AWS still writes its metrics line: an alarm on RunErrors sees it, where
// a missing line would look like a quiet run.
TEST(Reconcile, ARunThatCannotReadAwsStillReportsItsMetrics) {
  efsas::testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "data");
  for (const char* name : {"a", "b", "c"}) {
    efsas::testing::write_file(dir.path() / "data" / name, "x");
  }
  MonitorConfig c = config();
  c.mount_path = dir.path().string();
  c.scan_cache_path = (dir.path() / "cache").string();
  FakeCloud cloud;
  cloud.fail_gets_from = 1;
  ManualClock clock;
  auto metrics = std::make_shared<MemorySink>();
  const auto run = run_once(cloud, c, clock, std::nullopt, RunOutputs{Logger(), metrics});
  ASSERT_FALSE(run.ok());
  ASSERT_EQ(metrics->lines().size(), 1u);
  const auto emf = nlohmann::json::parse(metrics->lines()[0]);
  EXPECT_EQ(metric_names(emf), (std::vector<std::string>{"FileCount", "ScanSeconds", "ScanErrors",
                                                         "ScanComplete", "RunErrors"}));
  EXPECT_EQ(emf["FileCount"], 3);
  EXPECT_EQ(emf["ScanComplete"], 1);
  EXPECT_EQ(emf["RunErrors"], 1);
  EXPECT_EQ(emf["FileSystemId"], kFs);
}

}  // namespace
}  // namespace efsas::monitor
