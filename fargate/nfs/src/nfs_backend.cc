// The NFS back end: service::Backend over a SessionPool per mount target.
#include "efsas/nfs/nfs_backend.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "efsas/nfs/errors.h"
#include "efsas/nfs/pool.h"
#include "efsas/nfs/session.h"
#include "efsas/path.h"
#include "efsas/service/directory_backend.h"  // the lock files hosts' writers lock

namespace efsas::nfs {

namespace {

using service::Backend;
using service::BodySource;
using service::FileReader;
using service::ListEntry;
using service::ListPage;
using service::WriteCondition;

bool is_reserved(std::string_view name) { return name.starts_with(kReservedPrefix); }

service::FileInfo to_service_info(const FileInfo& info) {
  service::FileInfo out;
  out.size = info.size;
  out.modified = info.mtime;
  out.etag = service::make_etag(info.inode, info.size, info.mtime);
  out.is_directory = info.is_directory;
  return out;
}

// Every back end of the process reaches one file system: one lock per name (its path) for all.
service::NameLocks& name_locks() {
  static service::NameLocks locks;
  return locks;
}

// Whether a write or removal may go ahead on `current`, the file under the name (nullopt: none).
Status condition_holds(const WriteCondition& condition, const std::optional<FileInfo>& current) {
  if (!current) return service::check_write_condition(condition, nullptr);
  const service::FileInfo info = to_service_info(*current);
  return service::check_write_condition(condition, &info);
}

// The write condition decided on the file under the name just before the RENAME or REMOVE, with
// the name locked in this process until `hold` goes (the caller's scope: after the change).
NameCheck condition_on(const WriteCondition& condition, std::string_view path,
                       service::NameLocks::Hold& hold, bool missing_is_404 = false) {
  return [condition, name = std::string(path), &hold,
          missing_is_404](const CurrentFile& read_current) -> Status {
    hold = name_locks().lock(name, std::chrono::steady_clock::now() + service::kNameLockWait);
    if (!hold.held()) return service::name_busy(name);
    auto current = read_current();
    if (!current.ok()) return current.error();
    if (!current->has_value() && missing_is_404) {
      return make_error(ErrorCode::kNotFound, "'" + name + "' does not exist");
    }
    return condition_holds(condition, *current);
  };
}

// NFS4ERR_NOTDIR while resolving a path means a parent is a file: for a read, the thing asked
// for does not exist (as the directory back end reports it).
Error read_error(Error error) {
  if (error.code == ErrorCode::kConflict && error.remote_code == "NFS4ERR_NOTDIR") {
    error.code = ErrorCode::kNotFound;
    error.retryable = false;
  }
  return error;
}

// A small file, read whole when opened.
class MemoryReader final : public FileReader {
 public:
  MemoryReader(service::FileInfo info, std::string data)
      : info_(std::move(info)), data_(std::move(data)) {}
  const service::FileInfo& info() const override { return info_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buffer) override {
    if (offset >= data_.size()) return std::size_t{0};
    const std::size_t n = std::min(buffer.size(), data_.size() - static_cast<std::size_t>(offset));
    std::copy_n(data_.data() + offset, n, buffer.data());
    return n;
  }

 private:
  service::FileInfo info_;
  std::string data_;
};

// A large file, read through a session held for the reader's life. Members are destroyed in
// reverse order: the file is closed on its session, then the session goes back to its pool,
// which outlives both even if the back end itself is dropped mid-stream.
class StreamReader final : public FileReader {
 public:
  StreamReader(std::shared_ptr<SessionPool> pool, SessionLease lease, OpenFile file,
               service::FileInfo info)
      : pool_(std::move(pool)),
        lease_(std::move(lease)),
        file_(std::move(file)),
        info_(std::move(info)) {}
  const service::FileInfo& info() const override { return info_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buffer) override {
    if (offset >= info_.size) return std::size_t{0};
    return file_.read_at(offset, buffer);
  }

 private:
  std::shared_ptr<SessionPool> pool_;
  SessionLease lease_;
  OpenFile file_;
  service::FileInfo info_;
};

class NfsBackend final : public Backend {
 public:
  NfsBackend(MountTarget target, NfsBackendOptions options, std::shared_ptr<const Clock> clock)
      : target_(std::move(target)), options_(std::move(options)) {
    PoolOptions pool_options;
    pool_options.session.server = resolve_address(options_.address_map, target_.ip_address);
    pool_options.session.export_path = options_.export_path;
    pool_options.session.uid = options_.uid;
    pool_options.session.gid = options_.gid;
    pool_options.session.timeout = options_.timeout;
    pool_options.session.client_name = "efsas-" + options_.instance_id + "-" + target_.id;
    pool_options.sessions = std::max<std::size_t>(1, options_.sessions_per_target);
    pool_options.keep_alive_interval = options_.keep_alive_interval;
    pool_ = std::make_shared<SessionPool>(pool_options, std::move(clock));
    keeper_ = std::thread([this] { keep_alive_loop(); });
  }

  ~NfsBackend() override {
    {
      std::lock_guard lock(stop_mutex_);
      stopping_ = true;
    }
    stop_.notify_all();
    keeper_.join();
  }

  const MountTarget& target() const override { return target_; }

  Result<service::PutResult> put(std::string_view path, BodySource& body,
                                 const WriteCondition& condition) override {
    for (int attempt = 0;; ++attempt) {
      if (attempt > 0 && !body.rewind()) break;
      auto lease = pool_->acquire();
      if (!lease.ok()) return lease.error();
      Result<service::PutResult> result = put_once(**lease, path, body, condition);
      // A session that was already dead (its lease lapsed, its server restarted) fails before
      // anything is written: try once more on a fresh one before the service fails over.
      if (result.ok() || attempt > 0 || !(*lease)->broken() || !result.error().retryable ||
          result.error().code == ErrorCode::kTimeout) {
        return result;
      }
    }
    return make_error(ErrorCode::kUnavailable, "nfs put: the body cannot be sent again", false);
  }

  Result<std::shared_ptr<FileReader>> open(std::string_view path) override {
    return with_retry([&](SessionLease& lease) -> Result<std::shared_ptr<FileReader>> {
      if (Status safe = lease->refuse_symlinks(path, false); !safe.ok()) return safe.error();
      auto file = lease->open_read(path);
      if (!file.ok()) return read_error(file.error());
      service::FileInfo info = to_service_info(file->info());
      if (info.is_directory) {
        return make_error(ErrorCode::kConflict, "'" + std::string(path) + "' is a directory");
      }
      if (info.size > options_.read_whole_limit) {
        return std::shared_ptr<FileReader>(std::make_shared<StreamReader>(
            pool_, std::move(lease), std::move(file).value(), std::move(info)));
      }
      std::string data(static_cast<std::size_t>(info.size), '\0');
      std::size_t done = 0;
      while (done < data.size()) {
        auto n = file->read_at(done, std::span<char>(data.data() + done, data.size() - done));
        if (!n.ok()) return n.error();
        if (*n == 0) break;
        done += *n;
      }
      data.resize(done);
      info.size = done;
      (void)file->close();
      return std::shared_ptr<FileReader>(
          std::make_shared<MemoryReader>(std::move(info), std::move(data)));
    });
  }

  Result<service::FileInfo> stat(std::string_view path) override {
    return with_retry([&](SessionLease& lease) -> Result<service::FileInfo> {
      if (Status safe = lease->refuse_symlinks(path, false); !safe.ok()) return safe.error();
      auto info = lease->stat(path);
      if (!info.ok()) return read_error(info.error());
      return to_service_info(*info);
    });
  }

  Status remove(std::string_view path, const WriteCondition& condition) override {
    return with_retry([&](SessionLease& lease) -> Status {
      if (Status safe = lease->refuse_symlinks(path, false); !safe.ok()) return safe;
      // Decided just before the REMOVE, the name locked in this process. A missing file is 404
      // whatever the condition, as without one (RFC 9110 13.2.1).
      service::NameLocks::Hold hold;
      const NameCheck last_check = condition_on(condition, path, hold, /*missing_is_404=*/true);
      // An unanswered REMOVE comes back not retryable (it may have happened: a retry elsewhere
      // would report 404); a failure before it, such as the check's timed-out read, fails over.
      Status removed = lease->remove(path, &last_check);
      if (!removed.ok()) return read_error(removed.error());
      return removed;
    });
  }

  Result<ListPage> list(std::string_view dir, std::size_t limit, std::string_view token) override {
    return with_retry([&](SessionLease& lease) -> Result<ListPage> {
      if (Status safe = lease->refuse_symlinks(dir, true); !safe.ok()) return safe.error();
      // A large directory's listing (names and attributes) is kept between its pages; the
      // directory's attributes are fetched to check it only when one is kept.
      auto listed = service::listing_cache().listing(
          target_.id + "/" + std::string(dir), limit,
          [&]() -> std::optional<service::ListingCache::Stamp> {
            auto info = lease->stat(dir);
            if (!info.ok() || !info->is_directory) return std::nullopt;
            return service::ListingCache::Stamp{info->inode, info->mtime};
          },
          [&]() -> Result<service::ListingCache::Entries> {
            auto entries = lease->list(dir);
            if (!entries.ok()) {
              // NOTDIR from a parent that is a file means not found; from the name itself, that it
              // is a file (as the directory back end answers).
              if (entries.error().remote_code == "NFS4ERR_NOTDIR") {
                auto info = lease->stat(dir);
                if (info.ok() && !info->is_directory) {
                  return make_error(ErrorCode::kConflict,
                                    "'" + std::string(dir) + "' is not a directory");
                }
              }
              return read_error(entries.error());
            }
            auto served = std::make_shared<std::vector<ListEntry>>();
            served->reserve(entries->size());
            for (auto& entry : *entries) {  // sorted by name
              if (is_reserved(entry.name)) continue;
              // Links, fifos and devices are never served, so they are not listed.
              if (!entry.is_directory && !entry.is_regular) continue;
              served->push_back(
                  ListEntry{std::move(entry.name), entry.is_directory, entry.size, entry.mtime});
            }
            return service::ListingCache::Entries(std::move(served));
          });
      if (!listed.ok()) return listed.error();
      return service::page_after(**listed, limit, token);
    });
  }

  Status make_directories(std::string_view dir) override {
    return with_retry([&](SessionLease& lease) -> Status {
      if (Status safe = lease->refuse_symlinks(dir, true); !safe.ok()) return safe;
      return lease->make_directories(dir);
    });
  }

  Status probe() override {
    return with_retry(/*reserved=*/true, [&](SessionLease& lease) -> Status {
      // Per target: the targets of one file system share every name, and concurrent probes of
      // two targets must not read each other's bytes.
      const std::string name =
          std::string(kReservedPrefix) + "probe-" + options_.instance_id + "-" + target_.id;
      const std::string expected = "probe " + std::to_string(++probe_counter_);
      return lease->write_read_probe(name, expected);
    });
  }

  Result<std::size_t> sweep_temp_files(std::string_view dir, SystemTime older_than,
                                       std::size_t max_entries) override {
    std::size_t removed = 0;
    std::size_t budget = max_entries;
    std::mt19937_64 random(std::random_device{}());
    // Depth first, each directory's subdirectories in a random order (see Backend).
    std::vector<std::string> pending{std::string(dir)};
    while (!pending.empty() && budget > 0) {
      const std::string current = std::move(pending.back());
      pending.pop_back();
      auto lease = pool_->acquire();
      if (!lease.ok()) return lease.error();
      auto entries = (*lease)->list(current);
      if (!entries.ok()) {
        if (entries.error().code == ErrorCode::kNotFound) continue;
        return entries.error();
      }
      const std::size_t first_child = pending.size();
      for (const auto& entry : *entries) {
        if (budget == 0) break;
        --budget;
        const std::string child = current.empty() ? entry.name : current + "/" + entry.name;
        if (entry.is_directory) {
          pending.push_back(child);
        } else if (is_reserved(entry.name) && !service::is_kept_reserved_file(entry.name) &&
                   entry.ctime < older_than && (*lease)->remove(child).ok()) {
          ++removed;
        }
      }
      std::shuffle(pending.begin() + static_cast<std::ptrdiff_t>(first_child), pending.end(),
                   random);
    }
    return removed;
  }

 private:
  Result<service::PutResult> put_once(Session& session, std::string_view path, BodySource& body,
                                      const WriteCondition& condition) {
    if (Status safe = session.refuse_symlinks(path, false); !safe.ok()) return safe.error();
    if (condition.if_match || condition.if_none_match_any || condition.if_unmodified_since) {
      // Spares the upload when the condition already fails; decided again before the RENAME.
      auto info = session.stat(path);
      if (!info.ok() && info.error().code != ErrorCode::kNotFound) return info.error();
      if (info.ok() && info->is_directory) {
        return make_error(ErrorCode::kConflict, "'" + std::string(path) + "' is a directory");
      }
      const auto current = info.ok() ? std::optional<FileInfo>(*info) : std::nullopt;
      if (Status ok = condition_holds(condition, current); !ok.ok()) return ok.error();
    }
    const PutMode mode = condition.if_none_match_any ? PutMode::kCreateOnly : PutMode::kReplace;
    // A replacement checks again just before its RENAME, the name locked in this process (a
    // create-only put's LINK is atomic by itself).
    service::NameLocks::Hold hold;
    const NameCheck last_check = condition_on(condition, path, hold);
    auto put = session.put(
        path, [&body](std::span<char> buffer) { return body.read(buffer); }, mode,
        mode == PutMode::kReplace ? &last_check : nullptr);
    if (!put.ok()) {
      Error error = put.error();
      if (mode == PutMode::kCreateOnly && error.code == ErrorCode::kAlreadyExists) {
        return make_error(ErrorCode::kPreconditionFailed,
                          "'" + std::string(path) + "' already exists");
      }
      return error;
    }
    return service::PutResult{mode == PutMode::kCreateOnly || !put->replaced,
                              to_service_info(put->info)};
  }

  // Runs fn on a session; once more on a fresh session if the first was already dead (an
  // expired lease or a restarted server fails the first call on every old session).
  template <typename Fn>
  auto with_retry(Fn&& fn) -> decltype(fn(std::declval<SessionLease&>())) {
    return with_retry(false, std::forward<Fn>(fn));
  }
  template <typename Fn>
  auto with_retry(bool reserved, Fn&& fn) -> decltype(fn(std::declval<SessionLease&>())) {
    for (int attempt = 0;; ++attempt) {
      auto lease = pool_->acquire(reserved);
      if (!lease.ok()) return lease.error();
      auto result = fn(*lease);
      if (result.ok() || attempt > 0 || !(*lease)->broken() || !result.error().retryable ||
          result.error().code == ErrorCode::kTimeout) {
        return result;
      }
    }
  }

  void keep_alive_loop() {
    const auto period = std::max(std::chrono::milliseconds(100), options_.keep_alive_interval / 3);
    std::unique_lock lock(stop_mutex_);
    while (!stop_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      pool_->maintain();
      lock.lock();
    }
  }

  const MountTarget target_;
  const NfsBackendOptions options_;
  std::shared_ptr<SessionPool> pool_;
  std::atomic<std::uint64_t> probe_counter_{0};
  std::mutex stop_mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread keeper_;
};

class NfsBackendFactory final : public service::BackendFactory {
 public:
  NfsBackendFactory(NfsBackendOptions options, std::shared_ptr<const Clock> clock)
      : options_(std::move(options)), clock_(std::move(clock)) {}
  Result<std::shared_ptr<Backend>> create(const MountTarget& target) override {
    if (target.ip_address.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "mount target " + target.id + " has no IP address");
    }
    return make_nfs_backend(target, options_, clock_);
  }

 private:
  NfsBackendOptions options_;
  std::shared_ptr<const Clock> clock_;
};

}  // namespace

std::shared_ptr<Backend> make_nfs_backend(MountTarget target, NfsBackendOptions options,
                                          std::shared_ptr<const Clock> clock) {
  if (options.instance_id.empty()) fail_invariant("NFS back end needs an instance id");
  return std::make_shared<NfsBackend>(std::move(target), std::move(options), std::move(clock));
}

std::shared_ptr<service::BackendFactory> make_nfs_backend_factory(
    NfsBackendOptions options, std::shared_ptr<const Clock> clock) {
  if (options.instance_id.empty()) fail_invariant("NFS back end needs an instance id");
  return std::make_shared<NfsBackendFactory>(std::move(options), std::move(clock));
}

}  // namespace efsas::nfs
