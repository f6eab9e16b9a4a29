// The reconcile planner on hand-built observations, including states moto cannot produce (a
// mount target still `creating`, subnets out of addresses).
#include "efsas/monitor/planner.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace efsas::monitor {
namespace {

const SystemTime kNow{std::chrono::seconds{1'800'000'000}};

Subnet subnet(std::string id, std::string az, std::int64_t free_ips = 250) {
  return Subnet{std::move(id), az, az + "-id", "vpc-1", free_ips};
}

MountTarget target(std::string id, std::string az, std::string subnet_id,
                   std::string state = "available") {
  return MountTarget{std::move(id),        az,          az + "-id",
                     std::move(subnet_id), "10.0.0.10", std::move(state)};
}

Observation fresh(std::uint64_t files) {
  Observation o;
  o.file_system_id = "fs-12345678";
  // Deliberately out of order: the plan must not depend on the API's ordering.
  o.subnets = {subnet("subnet-c", "us-east-1c"), subnet("subnet-a", "us-east-1a"),
               subnet("subnet-b", "us-east-1b")};
  o.scan = {files, 0, 1.0, true};
  return o;
}

PlanLimits limits(std::uint64_t threshold = 100, int max_creates = 1) {
  return PlanLimits{threshold, 3, max_creates, true};
}

TEST(DesiredMountTargets, IsCeilOfFilesOverThresholdWithinBounds) {
  EXPECT_EQ(desired_mount_targets(0, 100, 3, 3), 1);    // at least one
  EXPECT_EQ(desired_mount_targets(100, 100, 3, 3), 1);  // exactly the threshold
  EXPECT_EQ(desired_mount_targets(101, 100, 3, 3), 2);  // just past it
  EXPECT_EQ(desired_mount_targets(350, 100, 3, 3), 3);  // 3.5x with 3 AZs: capped
  EXPECT_EQ(desired_mount_targets(350, 100, 2, 3), 2);  // capped by AZs
  EXPECT_EQ(desired_mount_targets(350, 100, 3, 1), 1);  // capped by MAX_MOUNT_TARGETS
  EXPECT_EQ(desired_mount_targets(5, 100, 0, 3), 1);
}

TEST(Planner, FreshSystemGetsOneMountTargetInTheFirstAzAndADocument) {
  const Plan plan = plan_reconcile(fresh(10), limits(), kNow);
  EXPECT_EQ(plan.desired_mount_targets, 1);
  ASSERT_EQ(plan.creates.size(), 1u);
  EXPECT_EQ(plan.creates[0].subnet_id, "subnet-a");
  ASSERT_TRUE(plan.publish.has_value());  // the missing parameter is created (empty for now)
  EXPECT_EQ(plan.publish->generation, 1u);
  EXPECT_TRUE(plan.publish->mount_targets.empty());
  EXPECT_TRUE(plan.force_ecs_deployment);
}

TEST(Planner, CrossingTheThresholdAddsOneTargetPerRunInTheNextFreeAz) {
  Observation o = fresh(101);
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a")};
  o.document.state = DocumentState::kValid;
  o.document.list = document_for(o.file_system_id, o.mount_targets, 4, kNow);
  const Plan plan = plan_reconcile(o, limits(), kNow);
  EXPECT_EQ(plan.desired_mount_targets, 2);
  ASSERT_EQ(plan.creates.size(), 1u);
  EXPECT_EQ(plan.creates[0].availability_zone, "us-east-1b");
  EXPECT_FALSE(plan.publish.has_value());  // nothing new is available yet
}

TEST(Planner, CapsAtTheNumberOfAzsAndMaxCreatesPerRun) {
  Observation o = fresh(350);
  Plan plan = plan_reconcile(o, limits(100, 10), kNow);
  EXPECT_EQ(plan.desired_mount_targets, 3);
  ASSERT_EQ(plan.creates.size(), 3u);
  EXPECT_EQ(plan.creates[0].subnet_id, "subnet-a");
  EXPECT_EQ(plan.creates[1].subnet_id, "subnet-b");
  EXPECT_EQ(plan.creates[2].subnet_id, "subnet-c");
  plan = plan_reconcile(o, limits(100, 2), kNow);
  EXPECT_EQ(plan.creates.size(), 2u);
}

TEST(Planner, EveryAzUsedMeansNoCreation) {
  Observation o = fresh(100000);
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a"),
                     target("fsmt-2", "us-east-1b", "subnet-b"),
                     target("fsmt-3", "us-east-1c", "subnet-c")};
  const Plan plan = plan_reconcile(o, limits(100, 5), kNow);
  EXPECT_TRUE(plan.creates.empty());
  EXPECT_EQ(plan.desired_mount_targets, 3);
}

TEST(Planner, SkipsSubnetsWithoutFreeAddressesAndUsesAnotherInTheSameAz) {
  Observation o = fresh(10);
  o.subnets = {subnet("subnet-a1", "us-east-1a", 0), subnet("subnet-a2", "us-east-1a", 0),
               subnet("subnet-b1", "us-east-1b", 0), subnet("subnet-b2", "us-east-1b", 7)};
  const Plan plan = plan_reconcile(o, limits(), kNow);
  ASSERT_EQ(plan.creates.size(), 1u);
  EXPECT_EQ(plan.creates[0].subnet_id, "subnet-b2");
}

// moto creates mount targets `available` at once; real EFS takes about a minute. A `creating`
// target holds its AZ and is not published until it is available.
TEST(Planner, CreatingTargetHoldsItsAzButIsNotPublished) {
  Observation o = fresh(150);
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a"),
                     target("fsmt-2", "us-east-1b", "subnet-b", "creating")};
  o.document.state = DocumentState::kValid;
  o.document.list = document_for(o.file_system_id, {o.mount_targets[0]}, 7, kNow);
  Plan plan = plan_reconcile(o, limits(), kNow);
  EXPECT_TRUE(plan.creates.empty());
  EXPECT_FALSE(plan.publish.has_value());

  o.mount_targets[1].state = "available";
  plan = plan_reconcile(o, limits(), kNow);
  ASSERT_TRUE(plan.publish.has_value());
  EXPECT_EQ(plan.publish->generation, 8u);
  EXPECT_EQ(plan.publish->mount_targets.size(), 2u);
}

bool has_note(const Plan& plan, const std::string& text) {
  return std::any_of(plan.notes.begin(), plan.notes.end(),
                     [&](const std::string& note) { return note.find(text) != std::string::npos; });
}

// A mount target whose security groups are being changed is `updating`, and serves meanwhile:
// one already published stays in the document as it was, so nothing is published (and the
// service is not redeployed) on the way in or out. One never published waits to be available.
TEST(Planner, UpdatingTargetThatIsPublishedStaysAsPublished) {
  Observation o = fresh(150);
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a"),
                     target("fsmt-2", "us-east-1b", "subnet-b")};
  o.document.state = DocumentState::kValid;
  o.document.list = document_for(o.file_system_id, o.mount_targets, 5, kNow);
  o.mount_targets[1].state = "updating";
  Plan plan = plan_reconcile(o, limits(), kNow);
  EXPECT_FALSE(plan.publish.has_value());
  EXPECT_TRUE(plan.creates.empty());  // it still holds its AZ
  EXPECT_TRUE(has_note(plan, "fsmt-2 in us-east-1b is updating: kept in the document"));

  o.document.list = document_for(o.file_system_id, {o.mount_targets[0]}, 5, kNow);
  plan = plan_reconcile(o, limits(), kNow);
  EXPECT_FALSE(plan.publish.has_value());  // not published before: not published while updating
  EXPECT_TRUE(has_note(plan, "fsmt-2 in us-east-1b is updating: not published yet"));
}

// A mount target being deleted no longer counts and leaves the document, but EFS takes no other
// in its AZ until it is gone: the plan goes to the next AZ instead of a create EFS would refuse.
TEST(Planner, DeletingTargetLeavesTheDocumentAndHoldsItsAzUntilGone) {
  Observation o = fresh(10);
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a", "deleting")};
  o.document.state = DocumentState::kValid;
  o.document.list =
      document_for(o.file_system_id, {target("fsmt-1", "us-east-1a", "subnet-a")}, 3, kNow);
  Plan plan = plan_reconcile(o, limits(), kNow);
  EXPECT_EQ(plan.current_mount_targets, 0);
  ASSERT_EQ(plan.creates.size(), 1u);
  EXPECT_EQ(plan.creates[0].subnet_id, "subnet-b");
  EXPECT_TRUE(has_note(plan, "fsmt-1 in us-east-1a is deleting"));
  ASSERT_TRUE(plan.publish.has_value());
  EXPECT_TRUE(plan.publish->mount_targets.empty());
  EXPECT_EQ(plan.publish->generation, 4u);

  o.mount_targets[0].state = "deleted";  // gone: the AZ is free again
  plan = plan_reconcile(o, limits(), kNow);
  ASSERT_EQ(plan.creates.size(), 1u);
  EXPECT_EQ(plan.creates[0].subnet_id, "subnet-a");
}

// A mount target in `error` holds its AZ until an operator deletes it, and the note says so. It
// is not counted, so desired stays above current while it is there.
TEST(Planner, FailedTargetHoldsItsAzAndAsksToBeDeleted) {
  Observation o = fresh(250);
  o.subnets = {subnet("subnet-a", "us-east-1a"), subnet("subnet-b", "us-east-1b")};
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a"),
                     target("fsmt-2", "us-east-1b", "subnet-b", "error")};
  const Plan plan = plan_reconcile(o, limits(100, 3), kNow);
  EXPECT_EQ(plan.desired_mount_targets, 2);
  EXPECT_EQ(plan.current_mount_targets, 1);
  EXPECT_TRUE(plan.creates.empty());
  EXPECT_TRUE(has_note(plan, "fsmt-2 in us-east-1b is error"));
  EXPECT_TRUE(has_note(plan, "until it is deleted"));
}

// A One Zone file system can have one mount target, in its own AZ (EFS refuses others with
// AvailabilityZonesMismatch).
TEST(Planner, OneZoneFileSystemGetsOneMountTargetInItsOwnAz) {
  Observation o = fresh(1000);
  o.one_zone_az = "us-east-1b";
  Plan plan = plan_reconcile(o, limits(100, 3), kNow);
  EXPECT_EQ(plan.desired_mount_targets, 1);
  ASSERT_EQ(plan.creates.size(), 1u);
  EXPECT_EQ(plan.creates[0].subnet_id, "subnet-b");
  EXPECT_TRUE(has_note(plan, "One Zone file system in us-east-1b"));

  o.mount_targets = {target("fsmt-1", "us-east-1b", "subnet-b")};
  plan = plan_reconcile(o, limits(100, 3), kNow);
  EXPECT_EQ(plan.desired_mount_targets, 1);
  EXPECT_TRUE(plan.creates.empty());
  EXPECT_FALSE(has_note(plan, "no usable subnet"));
}

// EFS creates mount targets only for an `available` file system; the document is still kept.
TEST(Planner, FileSystemNotAvailableCreatesNothingButStillPublishes) {
  Observation o = fresh(500);
  o.file_system_state = "updating";
  const Plan plan = plan_reconcile(o, limits(), kNow);
  EXPECT_FALSE(plan.scaling_allowed);
  EXPECT_TRUE(plan.creates.empty());
  EXPECT_TRUE(has_note(plan, "file system is updating"));
  EXPECT_TRUE(plan.publish.has_value());
}

TEST(Planner, PartialScanNeverScalesButStillPublishes) {
  Observation o = fresh(1'000'000);
  o.scan.complete = false;
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a")};
  const Plan plan = plan_reconcile(o, limits(), kNow);
  EXPECT_FALSE(plan.scaling_allowed);
  EXPECT_TRUE(plan.creates.empty());
  ASSERT_TRUE(plan.publish.has_value());
  EXPECT_EQ(plan.publish->mount_targets.size(), 1u);
}

TEST(Planner, MalformedDocumentIsReplacedAboveAnySalvagedGeneration) {
  Observation o = fresh(10);
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a")};
  o.document.state = DocumentState::kMalformed;
  o.document.problem = "not JSON";
  o.document.generation_floor = 41;
  const Plan plan = plan_reconcile(o, limits(), kNow);
  ASSERT_TRUE(plan.publish.has_value());
  EXPECT_EQ(plan.publish->generation, 42u);
  EXPECT_EQ(plan.publish->updated_at, format_iso8601_ms(kNow));
}

TEST(Planner, UnchangedContentIsNotRepublished) {
  Observation o = fresh(10);
  o.mount_targets = {target("fsmt-1", "us-east-1a", "subnet-a")};
  o.document.state = DocumentState::kValid;
  o.document.list =
      document_for(o.file_system_id, o.mount_targets, 9, kNow - std::chrono::hours(1));
  const Plan plan = plan_reconcile(o, limits(), kNow);
  EXPECT_FALSE(plan.publish.has_value());
  EXPECT_FALSE(plan.force_ecs_deployment);
  EXPECT_FALSE(plan.changes_anything());
}

TEST(Planner, NoEcsDeploymentWhenNotConfigured) {
  PlanLimits l = limits();
  l.force_ecs_deployment = false;
  const Plan plan = plan_reconcile(fresh(10), l, kNow);
  EXPECT_TRUE(plan.publish.has_value());
  EXPECT_FALSE(plan.force_ecs_deployment);
}

}  // namespace
}  // namespace efsas::monitor
