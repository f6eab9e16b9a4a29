// Routing tables and per-target health.
#include "efsas/service/routing_table.h"

#include <algorithm>
#include <utility>

namespace efsas::service {

bool TargetStatus::record_probe(bool success, std::string_view detail) {
  std::lock_guard lock(mutex_);
  ++probes_;
  const bool was_healthy = healthy_.load();
  if (success) {
    answered_.store(true, std::memory_order_relaxed);
    consecutive_failures_ = 0;
    ++consecutive_successes_;
    if (!was_healthy && consecutive_successes_ >= policy_.successes_to_up) {
      healthy_.store(true);
      return true;
    }
  } else {
    ++failed_probes_;
    consecutive_successes_ = 0;
    ++consecutive_failures_;
    last_error_ = std::string(detail);
    if (was_healthy && consecutive_failures_ >= policy_.failures_to_down) {
      healthy_.store(false);
      return true;
    }
  }
  return false;
}

nlohmann::json TargetStatus::to_json() const {
  std::lock_guard lock(mutex_);
  return {{"healthy", healthy_.load()},
          {"consecutive_failures", consecutive_failures_},
          {"consecutive_successes", consecutive_successes_},
          {"probes", probes_},
          {"failed_probes", failed_probes_},
          {"last_error", last_error_},
          {"requests", requests.load()},
          {"failures", failures.load()}};
}

RoutingTable::Candidates RoutingTable::candidates(std::string_view path) const {
  Candidates out;
  out.targets.reserve(targets.size());
  const std::vector<std::size_t> ranking = router.rank(path);
  for (const std::size_t index : ranking) {
    const TargetEntry& entry = targets[index];
    if (entry.status->healthy()) out.targets.push_back(&entry);
  }
  if (out.targets.empty() && !ranking.empty()) {
    out.fail_open = true;
    for (const std::size_t index : ranking) out.targets.push_back(&targets[index]);
  }
  return out;
}

std::size_t RoutingTable::healthy_count() const {
  std::size_t n = 0;
  for (const auto& entry : targets) n += entry.status->healthy() ? 1u : 0u;
  return n;
}

bool RoutingTable::all_local() const {
  return std::all_of(targets.begin(), targets.end(),
                     [](const TargetEntry& entry) { return entry.backend->local(); });
}

Result<std::shared_ptr<const RoutingTable>> build_routing_table(MountTargetList list,
                                                                const RoutingTable* previous,
                                                                BackendFactory& factory,
                                                                HealthPolicy policy) {
  if (auto status = validate(list); !status.ok()) return status.error();
  auto table = std::make_shared<RoutingTable>();
  std::vector<std::string> ids;
  for (const auto& target : list.mount_targets) {
    if (target.state != "available") continue;
    const TargetEntry* kept = nullptr;
    if (previous != nullptr) {
      for (const auto& entry : previous->targets) {
        if (entry.target == target) kept = &entry;
      }
    }
    if (kept != nullptr) {
      table->targets.push_back(*kept);
    } else {
      auto backend = factory.create(target);
      if (!backend.ok()) return backend.error();
      table->targets.push_back(
          TargetEntry{target, std::move(*backend), std::make_shared<TargetStatus>(policy)});
    }
    ids.push_back(target.id);
  }
  table->router = Router(std::move(ids));
  table->list = std::move(list);
  return std::shared_ptr<const RoutingTable>(std::move(table));
}

}  // namespace efsas::service
