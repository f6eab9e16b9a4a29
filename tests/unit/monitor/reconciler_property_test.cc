// RapidCheck properties of reconcile runs that overlap, as the scheduled Lambda and an operator's
// `run` may: each run after the first is made whole inside an earlier one, at a random one of
// that run's AWS calls (between its read of the parameter and its write, between a
// DescribeMountTargets and a CreateMountTarget, ...). Whatever the interleaving, every run ends
// without error, no more mount targets exist than MAX_MOUNT_TARGETS allows, the document standing
// lists exactly the mount targets available when they were last read, and a reader that saw every
// version written, and applied the readers' rule to each, ends up holding that document.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "../core/property_support.h"
#include "efsas/monitor/reconciler.h"
#include "fake_cloud.h"

namespace efsas::monitor {
namespace {

using testing::FakeCloud;
using testing::kFs;

// The cloud all runs share, and time passing in it: at its `ripen_at`-th call (counted over all
// runs) the mount targets still `creating` become `available`, as AWS's do after a minute or two.
struct World {
  FakeCloud cloud;
  int calls = 0;
  int ripen_at = 0;
  std::vector<MountTarget> last_described;  // by the last DescribeMountTargets of any run

  void tick() {
    if (++calls != ripen_at) return;
    for (auto& t : cloud.targets) {
      if (t.state == "creating") t.state = "available";
    }
    cloud.new_target_state = "available";
  }
};

// One run's view of the shared cloud: before its n-th call it first lets the runs inside it at n
// act.
class Interleaved final : public CloudApi {
 public:
  Interleaved(World& world, std::multimap<int, std::function<void()>> inner)
      : world_(world), cloud_(world.cloud), inner_(std::move(inner)) {}

  Result<FileSystemInfo> describe_file_system(const std::string& id) override {
    step();
    return cloud_.describe_file_system(id);
  }
  Result<std::vector<MountTarget>> describe_mount_targets(const std::string& id) override {
    step();
    auto targets = cloud_.describe_mount_targets(id);
    if (targets.ok()) world_.last_described = *targets;
    return targets;
  }
  Result<std::vector<Subnet>> describe_subnets(const std::vector<std::string>& ids,
                                               const std::string& vpc) override {
    step();
    return cloud_.describe_subnets(ids, vpc);
  }
  Result<MountTarget> create_mount_target(const std::string& id, const std::string& subnet,
                                          const std::vector<std::string>& groups) override {
    step();
    return cloud_.create_mount_target(id, subnet, groups);
  }
  Result<std::optional<ParameterValue>> get_parameter(const std::string& name) override {
    step();
    return cloud_.get_parameter(name);
  }
  Result<std::vector<ParameterValue>> parameter_history(const std::string& name) override {
    step();
    return cloud_.parameter_history(name);
  }
  Result<std::int64_t> put_parameter(const std::string& name, const std::string& value) override {
    step();
    return cloud_.put_parameter(name, value);
  }
  Status force_new_deployment(const std::string& cluster, const std::string& service) override {
    step();
    return cloud_.force_new_deployment(cluster, service);
  }
  Result<std::optional<SystemTime>> latest_deployment_start(const std::string& cluster,
                                                            const std::string& service) override {
    step();
    return cloud_.latest_deployment_start(cluster, service);
  }

  // Runs the inner runs scheduled past this run's last call: they start after it ended.
  void run_leftovers() {
    for (auto it = inner_.upper_bound(calls_); it != inner_.end(); ++it) it->second();
    inner_.clear();
  }

 private:
  void step() {
    const auto [first, last] = inner_.equal_range(++calls_);
    for (auto it = first; it != last; ++it) it->second();
    world_.tick();
  }

  World& world_;
  FakeCloud& cloud_;
  int calls_ = 0;
  std::multimap<int, std::function<void()>> inner_;
};

// Applies the readers' rule (mount-target-list.md): a higher generation replaces what is held; a
// lower one, or the same one with other content, is ignored; a document that does not parse or
// names another file system is ignored.
std::optional<MountTargetList> what_a_reader_holds(const std::vector<ParameterValue>& history) {
  std::optional<MountTargetList> held;
  for (const auto& version : history) {
    auto list = parse_mount_target_list(version.value);
    if (!list.ok() || list->file_system_id != kFs) continue;
    if (!held || list->generation > held->generation) held = std::move(list).value();
  }
  return held;
}

TEST(ReconcileProperty, OverlappingRunsConvergeOnOneDocumentEveryReaderHolds) {
  // Runs whose interleaving matters are a few in a hundred: many cases, each cheap.
  efsas::testing::check_property(3000, [] {
    World world;
    FakeCloud& cloud = world.cloud;
    const int existing = *rc::gen::inRange(0, 3);
    for (int i = 0; i < existing; ++i) {
      const Subnet& s = cloud.subnets[static_cast<std::size_t>(i)];
      cloud.targets.push_back(MountTarget{
          "fsmt-9999000" + std::to_string(i), s.availability_zone, s.availability_zone_id, s.id,
          "10.0.9." + std::to_string(i), *rc::gen::element<std::string>("available", "creating")});
    }
    if (*rc::gen::arbitrary<bool>()) {  // a document from before, maybe stale
      const std::size_t listed = *rc::gen::inRange<std::size_t>(0, cloud.targets.size() + 1);
      const std::vector<MountTarget> before(cloud.targets.begin(),
                                            cloud.targets.begin() + static_cast<long>(listed));
      // Its generation may be above its version: one salvaged from a malformed document, or a
      // parameter deleted and written again.
      const auto version = *rc::gen::inRange<std::int64_t>(1, 6);
      const auto generation =
          static_cast<std::uint64_t>(version) + *rc::gen::element<std::uint64_t>(0, 0, 1, 2, 40);
      cloud.parameter = ParameterValue{
          *serialize_mount_target_list({kFs, generation, "2026-01-01T00:00:00.000Z", before}),
          version, std::nullopt};
    }
    cloud.new_target_state = *rc::gen::element<std::string>("available", "creating");
    world.ripen_at = *rc::gen::inRange(0, 80);

    MonitorConfig config;
    config.file_system_id = kFs;
    config.file_count_threshold = 100;
    config.candidate_subnet_ids = {"subnet-0000000a", "subnet-0000000b", "subnet-0000000c"};
    config.max_mount_targets = *rc::gen::inRange(1, 4);
    config.max_creates_per_run = *rc::gen::inRange(1, 4);
    const ScanSummary scan{*rc::gen::inRange<std::uint64_t>(0, 400), 2, 0.5, true};
    if (*rc::gen::arbitrary<bool>()) {  // with an ECS service: calls after the write too
      config.ecs_cluster_name = "cluster";
      config.ecs_service_name = "file-service";
    }
    // Run j (j >= 1) is made inside run parent[j] < j, before that run's at[j]-th call (a run
    // makes 5 to 12 calls), or after it if the run made fewer.
    const auto runs = *rc::gen::inRange<std::size_t>(1, 5);
    std::vector<std::size_t> parent(runs);
    std::vector<int> at(runs);
    for (std::size_t j = 1; j < runs; ++j) {
      parent[j] = *rc::gen::inRange<std::size_t>(0, j);
      at[j] = *rc::gen::inRange(1, 14);
    }

    ManualClock clock;
    std::vector<std::string> failures;
    std::function<void(std::size_t)> run = [&](std::size_t i) {
      std::multimap<int, std::function<void()>> inner;
      for (std::size_t j = i + 1; j < runs; ++j) {
        if (parent[j] == i) inner.emplace(at[j], [&run, j] { run(j); });
      }
      Interleaved view(world, std::move(inner));
      auto report = reconcile(view, config, scan, clock, Logger());
      view.run_leftovers();
      if (!report.ok()) {
        failures.push_back(report.error().to_string());
      } else if (!report->ok()) {
        failures.push_back(report->to_json().dump());
      }
    };
    run(0);
    RC_ASSERT(failures.empty());

    int occupying = 0;
    for (const auto& t : cloud.targets) occupying += occupies_az(t.state) ? 1 : 0;
    RC_ASSERT(occupying <= std::max(config.max_mount_targets, existing));

    RC_ASSERT(cloud.parameter.has_value());
    auto standing = parse_mount_target_list(cloud.parameter->value);
    RC_ASSERT(standing.ok());
    // As the last read saw them: a target that became available after it waits for a later run.
    const MountTargetList exists = document_for(kFs, world.last_described, 0, clock.now());
    RC_ASSERT(same_content(*standing, exists));

    const std::optional<MountTargetList> held = what_a_reader_holds(cloud.history);
    RC_ASSERT(held.has_value());
    RC_ASSERT(same_content(*held, *standing));
  });
}

}  // namespace
}  // namespace efsas::monitor
