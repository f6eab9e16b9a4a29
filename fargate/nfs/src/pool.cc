// Session pool per mount target: leasing, re-mounting with backoff, lease keep-alive.
#include "efsas/nfs/pool.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <optional>
#include <utility>

namespace efsas::nfs {

namespace {

// Session numbers are unique in the process, not per pool: two pools of one mount target (a
// table rebuilt while requests hold the old one) must never share an NFSv4 client name, nor the
// temporary-file names made from it.
std::atomic<std::uint64_t> next_client_id{0};

}  // namespace

SessionLease::SessionLease(SessionPool* pool, std::size_t slot, std::unique_ptr<Session> session)
    : pool_(pool), slot_(slot), session_(std::move(session)) {}

SessionLease::SessionLease(SessionLease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      slot_(other.slot_),
      session_(std::move(other.session_)) {}

SessionLease::~SessionLease() {
  if (pool_ != nullptr) pool_->release(slot_, std::move(session_));
}

SessionPool::SessionPool(PoolOptions options, std::shared_ptr<const Clock> clock,
                         Connector connector)
    : options_(std::move(options)), clock_(std::move(clock)), connector_(std::move(connector)) {
  if (options_.sessions == 0) fail_invariant("SessionPool needs at least one session");
  if (!clock_) fail_invariant("SessionPool needs a clock");
  slots_.resize(options_.sessions + 1);  // the last one only for acquire(reserved = true)
}

SessionPool::~SessionPool() {
  std::lock_guard lock(mutex_);
  for (const auto& slot : slots_) {
    if (slot.leased) fail_invariant("SessionPool destroyed while a session is leased");
  }
}

Result<SessionLease> SessionPool::acquire(bool reserved) {
  std::unique_lock lock(mutex_);
  bool waited = false;
  bool waited_for_first = false;
  const std::size_t usable = reserved ? slots_.size() : options_.sessions;
  while (true) {
    std::size_t free_slot = slots_.size();
    for (std::size_t n = 0; n < usable; ++n) {
      // Reserved callers try the reserved slot first, leaving the others to requests.
      const std::size_t i = reserved ? usable - 1 - n : n;
      Slot& slot = slots_[i];
      if (slot.leased) continue;
      if (slot.session && slot.generation != generation_) retire_locked(std::move(slot.session));
      if (slot.session) return lease_idle_locked(i);
      if (free_slot == slots_.size()) free_slot = i;
    }
    if (free_slot != slots_.size() && !mounted_once_ && !suspect_ && connecting_) {
      // A new pool's first mount is in flight. Wait for it instead of dialling from every free
      // slot at once an address that may be dead, each holding its caller for the timeout.
      if (waited_for_first) {
        return make_error(ErrorCode::kUnavailable,
                          "nfs " + server() + ": the first mount is still in progress", true);
      }
      released_.wait_for(lock, options_.session.timeout, [&] { return !connecting_; });
      waited_for_first = true;
      continue;
    }
    if (free_slot != slots_.size()) return connect_slot(lock, free_slot);
    if (waited) {
      return make_error(
          ErrorCode::kTimeout,
          "nfs " + server() + ": all " + std::to_string(usable) + " sessions stayed busy", true);
    }
    // Every session is busy: one comes back within a call's timeout unless the server hangs.
    released_.wait_for(lock, options_.session.timeout, [&] {
      return std::any_of(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(usable),
                         [](const Slot& s) { return !s.leased; });
    });
    waited = true;
  }
}

Result<SessionLease> SessionPool::connect_slot(std::unique_lock<std::mutex>& lock,
                                               std::size_t index) {
  // A target that failed lately, or has never been mounted, gets one mount attempt at a time.
  const bool one_at_a_time = suspect_ || !mounted_once_;
  if (one_at_a_time) {
    if (connecting_) {
      return make_error(ErrorCode::kUnavailable,
                        "nfs " + server() + ": target failed lately and is being re-mounted", true);
    }
    const SteadyTime now = clock_->steady_now();
    if (suspect_ && now < next_attempt_) {
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now).count();
      return make_error(ErrorCode::kUnavailable,
                        "nfs " + server() + ": target down; next mount attempt in " +
                            std::to_string(wait) + " ms",
                        true);
    }
    connecting_ = true;
  }
  Slot& slot = slots_[index];
  slot.leased = true;
  ++counters_.in_use;
  SessionOptions session_options = options_.session;
  // Two appends: GCC 12 at -O3 warns falsely (-Wrestrict) on `"-" + std::string`.
  session_options.client_name += '-';
  session_options.client_name += std::to_string(next_client_id.fetch_add(1) + 1);

  lock.unlock();
  Result<std::unique_ptr<Session>> connected = connector_(session_options);
  lock.lock();

  if (one_at_a_time) connecting_ = false;
  if (!connected.ok()) {
    slot.leased = false;
    --counters_.in_use;
    ++counters_.connect_failures;
    suspect_ = true;
    backoff_ =
        backoff_.count() == 0 ? options_.min_backoff : std::min(options_.max_backoff, backoff_ * 2);
    next_attempt_ = clock_->steady_now() + backoff_;
    released_.notify_all();
    return connected.error();
  }
  ++counters_.connects;
  mounted_once_ = true;
  released_.notify_all();  // callers waiting for a new pool's first mount may mount now
  suspect_ = false;
  backoff_ = std::chrono::milliseconds{0};
  slot.generation = generation_;
  slot.renewals_seen = (*connected)->lease_renewals();
  slot.last_renewal = clock_->steady_now();  // the mount established the client's lease
  return SessionLease(this, index, std::move(connected).value());
}

void SessionPool::note_broken_locked(std::uint64_t mounted_in) {
  ++counters_.broken;
  // One mounted before the pool last dropped its sessions tells nothing of those mounted since
  // (a call that failed late against a server that has restarted since).
  if (mounted_in != generation_) return;
  // Whatever broke this session (a dead or restarted server, most often) has broken its
  // siblings too; drop them instead of failing one more request on each.
  ++generation_;
  suspect_ = true;
}

SessionLease SessionPool::lease_idle_locked(std::size_t index) {
  Slot& slot = slots_[index];
  slot.leased = true;
  ++counters_.in_use;
  return SessionLease(this, index, std::move(slot.session));
}

std::unique_ptr<Session> SessionPool::retire_locked(std::unique_ptr<Session> session) {
  keep_left_behind_locked(session->take_left_behind());
  return session;
}

void SessionPool::keep_left_behind_locked(std::vector<std::string> names) {
  for (auto& name : names) {
    if (left_behind_.size() >= kMaxLeftBehind) break;
    left_behind_.push_back(std::move(name));
  }
}

void SessionPool::release(std::size_t index, std::unique_ptr<Session> session) {
  std::unique_ptr<Session> to_destroy;
  {
    std::lock_guard lock(mutex_);
    Slot& slot = slots_[index];
    slot.leased = false;
    --counters_.in_use;
    if (session && session->spent()) {
      // Its own open sequence is lost, not the server: the other sessions stay.
      ++counters_.spent;
      to_destroy = retire_locked(std::move(session));
    } else if (session && session->broken()) {
      note_broken_locked(slot.generation);
      to_destroy = retire_locked(std::move(session));
    } else if (session && slot.generation != generation_) {
      to_destroy = retire_locked(std::move(session));
    } else if (session) {
      // What it could not remove while healthy (a REMOVE refused with DELAY, say) is removed by
      // the keeper's rounds, as for a session that broke.
      keep_left_behind_locked(session->take_left_behind());
      if (session->lease_renewals() != slot.renewals_seen) {
        slot.renewals_seen = session->lease_renewals();
        slot.last_renewal = clock_->steady_now();
      }
      slot.session = std::move(session);
    }
    released_.notify_all();  // waiters differ in which slots they may take
  }
  // Destroying a context only frees memory and closes a socket: never blocks on the server.
}

void SessionPool::maintain() {
  std::vector<SessionLease> due;
  {
    std::lock_guard lock(mutex_);
    const SteadyTime now = clock_->steady_now();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& slot = slots_[i];
      if (slot.leased || !slot.session) continue;
      if (slot.generation != generation_) {
        retire_locked(std::move(slot.session));
        continue;
      }
      if (now - slot.last_renewal < options_.keep_alive_interval) continue;
      due.push_back(lease_idle_locked(i));
    }
  }
  for (SessionLease& lease : due) {
    const SessionLease done = std::move(lease);  // given back at once, not after the others
    (void)done->keep_alive();  // a failure marks the session broken; release handles it
    std::lock_guard lock(mutex_);
    ++counters_.keep_alives;
  }
  remove_left_behind();
}

void SessionPool::remove_left_behind() {
  std::vector<std::string> names;
  std::optional<SessionLease> lease;
  {
    std::lock_guard lock(mutex_);
    if (left_behind_.empty() || suspect_) return;
    for (std::size_t i = 0; i < slots_.size() && !lease; ++i) {
      const Slot& slot = slots_[i];
      if (!slot.leased && slot.session && slot.generation == generation_) {
        lease.emplace(lease_idle_locked(i));
      }
    }
    if (!lease) return;
    // A few per round: the session is one a request could use, and the keeper thread has
    // keep-alives to send.
    const auto take = std::min(left_behind_.size(), kLeftBehindPerRound);
    names.assign(std::make_move_iterator(left_behind_.begin()),
                 std::make_move_iterator(left_behind_.begin() + static_cast<std::ptrdiff_t>(take)));
    left_behind_.erase(left_behind_.begin(),
                       left_behind_.begin() + static_cast<std::ptrdiff_t>(take));
  }
  std::size_t removed = 0;
  std::vector<std::string> later = (*lease)->remove_left_behind(std::move(names), removed);
  std::lock_guard lock(mutex_);
  counters_.left_behind_removed += removed;
  keep_left_behind_locked(std::move(later));
}

PoolStats SessionPool::stats() const {
  std::lock_guard lock(mutex_);
  PoolStats out = counters_;
  out.connected = 0;
  for (const auto& slot : slots_) {
    if (slot.leased || (slot.session && slot.generation == generation_)) ++out.connected;
  }
  out.backing_off = suspect_ && clock_->steady_now() < next_attempt_;
  out.left_behind = left_behind_.size();
  return out;
}

}  // namespace efsas::nfs
