// Health checks per mount target: every interval each target of the active routing table is
// probed (Backend::probe, a small write and read) with a timeout; K failures mark it down and M
// successes bring it back (TargetStatus). A probe that hangs counts as failed on every round
// until it returns, and no second probe of that target starts meanwhile. A second thread sweeps
// stale temporary files now and then.
// Thread safety: check_once and sweep_once may be called from any thread (rounds of check_once
// run one at a time); start/stop from one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "efsas/log.h"
#include "efsas/service/file_service.h"

namespace efsas::service {

struct HealthCheckOptions {
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds timeout{1000};
  // Temporary files older than sweep_age are removed every sweep_interval (0: never).
  std::chrono::milliseconds sweep_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds sweep_age{std::chrono::hours(1)};
  std::size_t sweep_max_entries = 200000;
};

class HealthChecker {
 public:
  HealthChecker(FileService& service, HealthCheckOptions options, Logger logger);
  ~HealthChecker();

  // Probes every target of the active table once, waiting at most options.timeout in all, and
  // logs when no target is left healthy (requests then fail open) and when one is again.
  void check_once();
  // Sweeps the file system's stale temporary files once, through one healthy target (the next
  // one if that fails); returns how many were removed.
  std::size_t sweep_once();

  void start();
  void stop();

 private:
  struct Probe;
  void loop();
  void sweep_loop();

  FileService& service_;
  HealthCheckOptions options_;
  Logger logger_;
  // A probe that outlived its round, by target: the next rounds wait for it instead of starting
  // another. Holding the status keeps its address from being reused by another target's.
  struct InFlight {
    std::shared_ptr<TargetStatus> status;
    std::shared_ptr<Probe> probe;
  };
  std::mutex round_mutex_;  // one check_once at a time; guards in_flight_ and none_healthy_
  std::map<const TargetStatus*, InFlight> in_flight_;
  bool none_healthy_ = false;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
  std::thread sweep_thread_;
  std::atomic<std::size_t> sweep_turn_{0};  // which target the next sweep starts from
};

}  // namespace efsas::service
