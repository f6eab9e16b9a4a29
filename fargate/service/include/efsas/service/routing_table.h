// The routing table: one immutable generation of mount targets with their back ends and the
// rendezvous router over them. The service swaps whole tables atomically
// (std::shared_ptr<const RoutingTable>); a target's health and counters live in a TargetStatus
// shared between generations, so a reload keeps what the health checks learnt.
// Thread safety: RoutingTable is immutable; TargetStatus is internally synchronised.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/mount_target_list.h"
#include "efsas/result.h"
#include "efsas/router.h"
#include "efsas/service/backend.h"

namespace efsas::service {

struct HealthPolicy {
  int failures_to_down = 3;  // K consecutive failed probes mark a target down
  int successes_to_up = 2;   // M consecutive good probes bring it back
};

class TargetStatus {
 public:
  explicit TargetStatus(HealthPolicy policy) : policy_(policy) {}

  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // Whether a probe of this target has ever succeeded.
  bool answered() const { return answered_.load(std::memory_order_relaxed); }
  // Records a probe result; returns true when the target changed between up and down.
  bool record_probe(bool success, std::string_view detail);

  // Requests this target served (any status) and back-end failures that moved a request on.
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> failures{0};

  nlohmann::json to_json() const;

 private:
  HealthPolicy policy_;
  std::atomic<bool> healthy_{true};  // optimistic until the probes say otherwise
  std::atomic<bool> answered_{false};
  mutable std::mutex mutex_;
  int consecutive_failures_ = 0;
  int consecutive_successes_ = 0;
  std::uint64_t probes_ = 0;
  std::uint64_t failed_probes_ = 0;
  std::string last_error_;
};

struct TargetEntry {
  MountTarget target;
  std::shared_ptr<Backend> backend;
  std::shared_ptr<TargetStatus> status;
};

struct RoutingTable {
  MountTargetList list;
  std::vector<TargetEntry> targets;  // the list's available targets, in router index order
  Router router{std::vector<std::string>{}};

  // The targets a request for a normalised path tries, best first: the path's rendezvous ranking
  // with unhealthy targets left out. When no target is healthy, every target in ranking order
  // (`fail_open`), as a load balancer does with no healthy target left: a probe can fail where
  // requests do not (a probe that runs late on a loaded host, a mount that refuses the probe's
  // write but serves reads), and a request to a target that is really down only fails as it would
  // have without being tried.
  struct Candidates {
    std::vector<const TargetEntry*> targets;
    bool fail_open = false;
  };
  Candidates candidates(std::string_view path) const;
  std::size_t healthy_count() const;
  // Whether every target's back end is local (Backend::local): then no call can hang on a network.
  bool all_local() const;
};

// Builds the table for a new list: targets whose state is "available", each with its back end
// from `factory`; targets also in `previous` keep their back end and status.
Result<std::shared_ptr<const RoutingTable>> build_routing_table(MountTargetList list,
                                                                const RoutingTable* previous,
                                                                BackendFactory& factory,
                                                                HealthPolicy policy);

}  // namespace efsas::service
