// Probing mount targets on threads of their own, so that a hung back end costs a thread, not the
// checker, and sweeping stale temporary files.
#include "efsas/service/health_checker.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace efsas::service {

struct HealthChecker::Probe {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  Status result;
};

HealthChecker::HealthChecker(FileService& service, HealthCheckOptions options, Logger logger)
    : service_(service), options_(options), logger_(std::move(logger)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::check_once() {
  std::lock_guard round(round_mutex_);
  const auto table = service_.table();
  if (!table) return;
  // A probe still running for a target the list no longer names is forgotten (its thread holds
  // what it needs). An entry holds its target's status, so no later target's status can take the
  // same address while the entry lives.
  std::erase_if(in_flight_, [&](const auto& item) {
    return std::none_of(table->targets.begin(), table->targets.end(),
                        [&](const TargetEntry& entry) { return entry.status.get() == item.first; });
  });
  struct Pending {
    const TargetEntry* entry;
    std::shared_ptr<Probe> probe;
  };
  std::vector<Pending> pending;
  for (const auto& entry : table->targets) {
    auto it = in_flight_.find(entry.status.get());
    if (it != in_flight_.end()) {
      pending.push_back({&entry, it->second.probe});
      continue;
    }
    auto probe = std::make_shared<Probe>();
    in_flight_[entry.status.get()] = InFlight{entry.status, probe};
    pending.push_back({&entry, probe});
    std::thread([backend = entry.backend, probe] {
      Status result = backend->probe();
      std::lock_guard probe_lock(probe->mutex);
      probe->result = std::move(result);
      probe->done = true;
      probe->done_cv.notify_all();
    }).detach();
  }
  const auto deadline = service_.clock().steady_now() + options_.timeout;
  for (const auto& p : pending) {
    bool done = false;
    Status result;
    {
      std::unique_lock lock(p.probe->mutex);
      done = p.probe->done_cv.wait_until(lock, deadline, [&] { return p.probe->done; });
      if (done) result = p.probe->result;
    }
    if (done) in_flight_.erase(p.entry->status.get());
    const bool ok = done && result.ok();
    const std::string detail = !done ? "probe timed out" : ok ? "" : result.error().to_string();
    if (p.entry->status->record_probe(ok, detail)) {
      if (ok) {
        logger_.info("mount target up", {{"mount_target", p.entry->target.id}});
      } else {
        logger_.warn("mount target down",
                     {{"mount_target", p.entry->target.id}, {"error", detail}});
      }
    }
  }
  // Whether requests fail open (RoutingTable::candidates), judged on the list active now: a
  // reload can also leave only targets that are down.
  const auto active = service_.table();
  if (!active || active->targets.empty()) return;  // nothing to say of a list with no target
  const bool none_healthy = active->healthy_count() == 0;
  if (none_healthy != none_healthy_) {
    none_healthy_ = none_healthy;
    if (none_healthy) {
      logger_.error("no mount target is healthy: requests try every one (fail open)",
                    {{"mount_targets", active->targets.size()}});
    } else {
      logger_.info("a mount target is healthy again: requests go to healthy targets only");
    }
  }
}

std::size_t HealthChecker::sweep_once() {
  const auto table = service_.table();
  if (!table) return 0;
  const SystemTime cutoff =
      service_.clock().now() - std::chrono::duration_cast<SystemTime::duration>(options_.sweep_age);
  // Every mount target shows the same file system: one walk, through one healthy target (each
  // pass starts at the next target, so the walks spread over them), is enough.
  const std::size_t n = table->targets.size();
  const std::size_t first = sweep_turn_++;
  for (std::size_t k = 0; k < n; ++k) {
    const TargetEntry& entry = table->targets[(first + k) % n];
    if (!entry.status->healthy()) continue;
    auto removed = entry.backend->sweep_temp_files("", cutoff, options_.sweep_max_entries);
    if (!removed.ok()) {
      logger_.warn("temporary-file sweep failed",
                   {{"mount_target", entry.target.id}, {"error", removed.error().to_string()}});
      continue;
    }
    if (*removed > 0) {
      logger_.info("removed stale temporary files",
                   {{"mount_target", entry.target.id}, {"count", *removed}});
    }
    return *removed;
  }
  return 0;
}

void HealthChecker::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
  if (options_.sweep_interval.count() > 0) {
    sweep_thread_ = std::thread([this] { sweep_loop(); });
  }
}

void HealthChecker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (sweep_thread_.joinable()) sweep_thread_.join();
}

void HealthChecker::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    check_once();
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

// Sweeping walks whole trees, so it has a thread of its own and never delays the probes. The
// first sweep runs soon after start-up (temporary files a crash left behind), then every
// sweep_interval.
void HealthChecker::sweep_loop() {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::min(options_.interval * 5, options_.sweep_interval),
                 [this] { return stopping_; });
  while (!stopping_) {
    lock.unlock();
    sweep_once();
    lock.lock();
    wake_.wait_for(lock, options_.sweep_interval, [this] { return stopping_; });
  }
}

}  // namespace efsas::service
