// A pool of NFSv4 sessions to one mount target. Each session serves one thread at a time;
// a session that breaks is dropped together with every idle one made before it (a dead server
// kills them all), and new ones are mounted with exponential backoff so that a dead target
// fails calls at once instead of waiting for each mount. Idle sessions are kept alive with
// maintain(), since libnfs 4.0 never renews an NFSv4 lease by itself.
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "efsas/clock.h"
#include "efsas/nfs/session.h"
#include "efsas/result.h"

namespace efsas::nfs {

struct PoolOptions {
  // The template for every session; client_name is used as a prefix (made unique per session).
  SessionOptions session;
  std::size_t sessions = 4;
  // Idle sessions whose lease was last renewed longer ago than this get a keep-alive call.
  // Must be well under the server's lease time (EFS and ganesha: 60 s... ganesha's default).
  std::chrono::milliseconds keep_alive_interval{15000};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
};

using Connector = std::function<Result<std::unique_ptr<Session>>(const SessionOptions&)>;

struct PoolStats {
  std::size_t connected = 0;  // sessions mounted now (idle or in use)
  std::size_t in_use = 0;
  std::uint64_t connects = 0;          // successful mounts so far
  std::uint64_t connect_failures = 0;  // failed mounts so far
  std::uint64_t broken = 0;            // sessions dropped after a failure
  std::uint64_t spent = 0;  // sessions dropped alone after a refused OPEN (Session::spent)
  std::uint64_t keep_alives = 0;
  std::size_t left_behind = 0;  // temporary files failed puts could not remove, still to remove
  std::uint64_t left_behind_removed = 0;  // such files removed so far
  bool backing_off = false;               // the last mount failed; new mounts wait for the backoff
};

class SessionPool;

// Exclusive use of one session; returns it to the pool on destruction.
class SessionLease {
 public:
  SessionLease(SessionLease&& other) noexcept;
  SessionLease& operator=(SessionLease&&) = delete;
  ~SessionLease();
  Session& operator*() const { return *session_; }
  Session* operator->() const { return session_.get(); }

 private:
  friend class SessionPool;
  SessionLease(SessionPool* pool, std::size_t slot, std::unique_ptr<Session> session);
  SessionPool* pool_;
  std::size_t slot_;
  std::unique_ptr<Session> session_;
};

class SessionPool {
 public:
  SessionPool(PoolOptions options, std::shared_ptr<const Clock> clock,
              Connector connector = &Session::connect);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  const std::string& server() const { return options_.session.server; }

  // A session for the caller's exclusive use: an idle one, or a new mount when a slot is free.
  // Waits up to the session timeout when all are busy. kUnavailable at once while backing off
  // after a failed mount (or while another thread is re-mounting a target that just failed).
  // A pool never mounted yet mounts once before any other: callers meanwhile wait for that
  // mount, then mount side by side if it succeeded, or fail at once if it did not.
  // `reserved` may also take one extra slot kept for health probes, so that slow clients
  // holding every session while large files stream cannot make a healthy target look down.
  Result<SessionLease> acquire(bool reserved = false);

  // Keeps idle sessions' leases alive, and removes through an idle session the temporary files
  // that failed puts could not remove (Session::take_left_behind). Call it periodically,
  // more often than keep_alive_interval. Never blocks on a busy session.
  void maintain();

  PoolStats stats() const;

 private:
  friend class SessionLease;
  struct Slot {
    std::unique_ptr<Session> session;  // null when not connected or when leased out
    bool leased = false;
    std::uint64_t generation = 0;  // pool generation when the session was mounted
    std::uint64_t renewals_seen = 0;
    SteadyTime last_renewal{};
  };
  void release(std::size_t slot, std::unique_ptr<Session> session);
  Result<SessionLease> connect_slot(std::unique_lock<std::mutex>& lock, std::size_t slot);
  // A session of generation `mounted_in` was found broken.
  void note_broken_locked(std::uint64_t mounted_in);
  // Leases out the idle session of slot `index`.
  SessionLease lease_idle_locked(std::size_t index);
  // Takes a session out of use, keeping the names of the temporary files it left behind.
  std::unique_ptr<Session> retire_locked(std::unique_ptr<Session> session);
  void keep_left_behind_locked(std::vector<std::string> names);
  void remove_left_behind();

  const PoolOptions options_;
  const std::shared_ptr<const Clock> clock_;
  const Connector connector_;

  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::vector<Slot> slots_;
  std::uint64_t generation_ = 0;
  bool suspect_ = false;       // the target failed lately: one mount attempt at a time
  bool mounted_once_ = false;  // until a mount succeeds, one mount attempt at a time
  bool connecting_ = false;    // a mount attempt is in flight while suspect_ or !mounted_once_
  SteadyTime next_attempt_{};  // no mount before this while suspect_
  std::chrono::milliseconds backoff_{0};
  PoolStats counters_;
  // Temporary files sessions left behind, at most kMaxLeftBehind (the temporary-file
  // sweep removes any beyond, in time).
  static constexpr std::size_t kMaxLeftBehind = 1024;
  static constexpr std::size_t kLeftBehindPerRound = 32;
  std::vector<std::string> left_behind_;
};

}  // namespace efsas::nfs
