// RapidCheck properties of the reconcile planner over random observations: never two mount
// targets in one AZ, creations bounded and only where addresses are free, partial scans never
// scale, generations only go up, and applying plans converges to a state that plans nothing.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <map>
#include <set>

#include "efsas/monitor/planner.h"

namespace efsas::monitor {
namespace {

const SystemTime kNow{std::chrono::seconds{1'800'000'000}};
const std::vector<std::string> kStates = {"available", "available", "creating", "updating",
                                          "deleting",  "deleted",   "error"};

struct World {
  Observation observed;
  PlanLimits limits;
};

rc::Gen<World> gen_world() {
  return rc::gen::exec([] {
    World w;
    w.observed.file_system_id = "fs-0123abcd";
    const int az_count = *rc::gen::inRange(1, 6);
    for (int az = 0; az < az_count; ++az) {
      const std::string name = "us-east-1" + std::string(1, static_cast<char>('a' + az));
      const int subnets = *rc::gen::inRange(0, 3);
      for (int s = 0; s < subnets; ++s) {
        w.observed.subnets.push_back(Subnet{"subnet-" + std::to_string(az) + std::to_string(s),
                                            name, "use1-az" + std::to_string(az), "vpc-1",
                                            *rc::gen::inRange<std::int64_t>(0, 3)});
      }
      // At most one target not yet deleted per AZ (EFS's own rule), maybe some deleted ones.
      const int targets = *rc::gen::inRange(0, 3);
      bool held = false;
      for (int t = 0; t < targets; ++t) {
        std::string state = *rc::gen::elementOf(kStates);
        if (blocks_az(state)) {
          if (held) state = "deleted";
          held = true;
        }
        w.observed.mount_targets.push_back(
            MountTarget{"fsmt-" + std::to_string(100 + az * 10 + t), name,
                        "use1-az" + std::to_string(az), "subnet-" + std::to_string(az) + "0",
                        "10.0.0." + std::to_string(10 + az * 10 + t), state});
      }
    }
    const int doc_kind = *rc::gen::inRange(0, 3);
    w.observed.document.generation_floor = *rc::gen::inRange<std::uint64_t>(0, 50);
    if (doc_kind == 1) {
      w.observed.document.state = DocumentState::kMalformed;
      w.observed.document.problem = "broken";
    } else if (doc_kind == 2) {
      w.observed.document.state = DocumentState::kValid;
      w.observed.document.list = document_for(w.observed.file_system_id, w.observed.mount_targets,
                                              *rc::gen::inRange<std::uint64_t>(0, 60), kNow);
    }
    if (*rc::gen::weightedElement<bool>({{4, false}, {1, true}})) {
      w.observed.one_zone_az =
          "us-east-1" + std::string(1, static_cast<char>('a' + *rc::gen::inRange(0, az_count)));
    }
    w.observed.file_system_state =
        *rc::gen::weightedElement<std::string>({{6, "available"}, {1, ""}, {1, "updating"}});
    w.observed.scan.files = *rc::gen::inRange<std::uint64_t>(0, 1000);
    w.observed.scan.complete = *rc::gen::weightedElement<bool>({{4, true}, {1, false}});
    w.limits.file_count_threshold = *rc::gen::inRange<std::uint64_t>(1, 200);
    w.limits.max_mount_targets = *rc::gen::inRange(1, 6);
    w.limits.max_creates_per_run = *rc::gen::inRange(1, 4);
    w.limits.force_ecs_deployment = *rc::gen::arbitrary<bool>();
    return w;
  });
}

std::uint64_t current_generation(const PublishedDocument& doc) {
  return doc.state == DocumentState::kValid ? std::max(doc.generation_floor, doc.list.generation)
                                            : doc.generation_floor;
}

// What AWS would look like after the plan: new targets (available, or still creating), and the
// published document.
void apply(Observation& o, const Plan& plan, bool created_available, int& next_id) {
  for (const auto& c : plan.creates) {
    o.mount_targets.push_back(MountTarget{"fsmt-" + std::to_string(900 + next_id++),
                                          c.availability_zone, "x-az1", c.subnet_id, "10.1.1.1",
                                          created_available ? "available" : "creating"});
  }
  if (plan.publish.has_value()) {
    o.document.state = DocumentState::kValid;
    o.document.list = *plan.publish;
  }
}

// EFS refuses a second mount target in an AZ while any other is not yet deleted (one in `error`
// or `deleting` too): a plan never asks for one.
TEST(PlannerProperties, NeverTwoMountTargetsInOneAz) {
  ASSERT_TRUE(rc::check([] {
    World w = *gen_world();
    const Plan plan = plan_reconcile(w.observed, w.limits, kNow);
    std::map<std::string, int> per_az;
    for (const auto& t : w.observed.mount_targets) {
      if (blocks_az(t.state)) ++per_az[t.availability_zone];
    }
    for (const auto& c : plan.creates) ++per_az[c.availability_zone];
    for (const auto& [az, count] : per_az) RC_ASSERT(count <= 1);
  }));
}

TEST(PlannerProperties, CreationsAreBoundedAndUseSubnetsWithFreeAddresses) {
  ASSERT_TRUE(rc::check([] {
    World w = *gen_world();
    const Plan plan = plan_reconcile(w.observed, w.limits, kNow);
    RC_ASSERT(static_cast<int>(plan.creates.size()) <= w.limits.max_creates_per_run);
    RC_ASSERT(plan.current_mount_targets + static_cast<int>(plan.creates.size()) <=
              std::max(plan.current_mount_targets, plan.desired_mount_targets));
    RC_ASSERT(plan.desired_mount_targets >= 1);
    RC_ASSERT(plan.desired_mount_targets <= w.limits.max_mount_targets);
    for (const auto& c : plan.creates) {
      const auto it = std::find_if(w.observed.subnets.begin(), w.observed.subnets.end(),
                                   [&](const Subnet& s) { return s.id == c.subnet_id; });
      RC_ASSERT(it != w.observed.subnets.end());
      RC_ASSERT(it->available_ip_addresses > 0);
      RC_ASSERT(it->availability_zone == c.availability_zone);
    }
  }));
}

// A One Zone file system can have one mount target, in its own AZ; and EFS creates mount targets
// only for an available file system.
TEST(PlannerProperties, CreationsOnlyWhereEfsTakesThem) {
  ASSERT_TRUE(rc::check([] {
    World w = *gen_world();
    const Plan plan = plan_reconcile(w.observed, w.limits, kNow);
    if (!w.observed.one_zone_az.empty()) {
      RC_ASSERT(plan.desired_mount_targets == 1);
      for (const auto& c : plan.creates) RC_ASSERT(c.availability_zone == w.observed.one_zone_az);
    }
    if (!w.observed.file_system_state.empty() && w.observed.file_system_state != "available") {
      RC_ASSERT(plan.creates.empty());
      RC_ASSERT(!plan.scaling_allowed);
    }
  }));
}

TEST(PlannerProperties, PartialScansNeverScale) {
  ASSERT_TRUE(rc::check([] {
    World w = *gen_world();
    w.observed.scan.complete = false;
    const Plan plan = plan_reconcile(w.observed, w.limits, kNow);
    RC_ASSERT(plan.creates.empty());
    RC_ASSERT(!plan.scaling_allowed);
  }));
}

TEST(PlannerProperties, PublishesOnlyAvailableTargetsAndGenerationOnlyGoesUp) {
  ASSERT_TRUE(rc::check([] {
    World w = *gen_world();
    const Plan plan = plan_reconcile(w.observed, w.limits, kNow);
    if (w.observed.document.state != DocumentState::kValid) RC_ASSERT(plan.publish.has_value());
    if (!plan.publish.has_value()) return;
    RC_ASSERT(plan.publish->generation > current_generation(w.observed.document));
    std::set<std::string> available;
    for (const auto& t : w.observed.mount_targets) {
      if (t.state == "available") available.insert(t.id);
    }
    std::set<std::string> published;
    for (const auto& t : plan.publish->mount_targets) {
      RC_ASSERT(t.state == "available");
      published.insert(t.id);
    }
    RC_ASSERT(published == available);
    RC_ASSERT(plan.force_ecs_deployment == w.limits.force_ecs_deployment);
  }));
}

TEST(PlannerProperties, ApplyingPlansConvergesAndThenPlansNothing) {
  ASSERT_TRUE(rc::check([] {
    World w = *gen_world();
    w.observed.scan.complete = true;
    const bool created_available = *rc::gen::arbitrary<bool>();
    Observation o = w.observed;
    int next_id = 0;
    std::uint64_t generation = current_generation(o.document);
    // Each run adds at most max_creates_per_run; a few more runs than AZs must be enough.
    for (int run = 0; run < 8; ++run) {
      const Plan plan = plan_reconcile(o, w.limits, kNow);
      if (plan.publish.has_value()) {
        RC_ASSERT(plan.publish->generation > generation);
        generation = plan.publish->generation;
      }
      apply(o, plan, created_available, next_id);
    }
    const Plan last = plan_reconcile(o, w.limits, kNow);
    RC_ASSERT(last.creates.empty());
    RC_ASSERT(!last.publish.has_value());
    // With enough creations per run, one application is enough.
    World big = w;
    big.limits.max_creates_per_run = 100;
    Observation once = big.observed;
    apply(once, plan_reconcile(once, big.limits, kNow), created_available, next_id);
    RC_ASSERT(plan_reconcile(once, big.limits, kNow).creates.empty());
  }));
}

}  // namespace
}  // namespace efsas::monitor
