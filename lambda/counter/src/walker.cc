// A parallel getdents64 walk: a shared LIFO stack of directories to list (depth first keeps the
// number of open descriptors low), workers counting into local totals merged once at the end,
// and a coordinator on the calling thread for progress, deadline and cancellation.
#include "walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

namespace efsas::counter::detail {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;
constexpr int kListFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr int kPathFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The attributes a rescan trusts a record on, asked of the file system itself: a network file
// system's client answers a plain stat from its attribute cache (NFS keeps a directory's for up
// to a minute), where a directory another client changed still shows its old times. Only the
// fields the walk reads (device, inode, type, mtime, ctime) are filled in. 0, or -1 with errno.
int fresh_stat(int dir_fd, const char* name, int flags, struct stat& st) {
  struct statx stx {};
  if (::statx(dir_fd, name, flags | AT_STATX_FORCE_SYNC,
              STATX_TYPE | STATX_INO | STATX_MTIME | STATX_CTIME, &stx) != 0) {
    return -1;
  }
  st = {};
  st.st_dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
  st.st_ino = stx.stx_ino;
  st.st_mode = stx.stx_mode;
  st.st_mtim = {static_cast<std::time_t>(stx.stx_mtime.tv_sec), stx.stx_mtime.tv_nsec};
  st.st_ctim = {static_cast<std::time_t>(stx.stx_ctime.tv_sec), stx.stx_ctime.tv_nsec};
  return 0;
}

// statx itself refused (an old kernel, a seccomp filter): a rescan then lists every directory.
bool cannot_statx(int err) { return err == ENOSYS || err == EPERM; }

// A directory descriptor kept open while children still refer to it.
struct DirFd {
  DirFd(int descriptor, std::atomic<std::size_t>* counter) : fd(descriptor), open(counter) {}
  ~DirFd() {
    ::close(fd);
    if (open != nullptr) open->fetch_sub(1, std::memory_order_relaxed);
  }
  DirFd(const DirFd&) = delete;
  DirFd& operator=(const DirFd&) = delete;
  int fd;
  std::atomic<std::size_t>* open;
};

// Names a directory: for error paths, and to reach children after its descriptor was closed.
struct Node {
  std::shared_ptr<const Node> parent;
  std::string name;
  std::weak_ptr<DirFd> fd;
};

struct Item {
  std::shared_ptr<const Node> parent;
  std::shared_ptr<DirFd> parent_fd;  // null when the descriptor budget was spent
  std::string name;
  // Incremental mode: the previous cache's record for the inode the parent's listing gave this
  // name, if any. Only a guess at what the directory is (it may have changed or been replaced),
  // used to pick the cheaper way to prove it unchanged.
  const DirRecord* expected = nullptr;
};

// The previous cache's records by (device, inode): open addressing over record indices, at most
// half full, four bytes a slot (a node-based map took ten times that per directory, and a
// million directories is what Lambda's memory has to hold).
class RecordIndex {
 public:
  RecordIndex() = default;
  explicit RecordIndex(const std::vector<DirRecord>& records) : records_(&records) {
    if (records.size() >= kEmpty) {
      fail_invariant("walk: the scan cache has more records than its index can hold");
    }
    std::size_t size = 16;
    while (size < 2 * records.size()) size *= 2;
    slots_.assign(size, kEmpty);
    mask_ = size - 1;
    for (std::uint32_t i = 0; i < records.size(); ++i) {
      std::size_t at = slot(records[i].device, records[i].inode);
      for (; slots_[at] != kEmpty; at = (at + 1) & mask_) {
        const DirRecord& held = records[slots_[at]];
        if (held.device == records[i].device && held.inode == records[i].inode) break;
      }
      if (slots_[at] == kEmpty) slots_[at] = i;  // a key twice: the first record is the one used
    }
  }

  const DirRecord* find(std::uint64_t device, std::uint64_t inode) const {
    if (records_ == nullptr) return nullptr;
    for (std::size_t at = slot(device, inode); slots_[at] != kEmpty; at = (at + 1) & mask_) {
      const DirRecord& r = (*records_)[slots_[at]];
      if (r.device == device && r.inode == inode) return &r;
    }
    return nullptr;
  }

 private:
  static constexpr std::uint32_t kEmpty = std::numeric_limits<std::uint32_t>::max();

  std::size_t slot(std::uint64_t device, std::uint64_t inode) const {
    std::uint64_t x = inode ^ (device * 0x9e3779b97f4a7c15ULL);  // the MurmurHash3 finalizer
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<std::size_t>(x) & mask_;
  }

  const std::vector<DirRecord>* records_ = nullptr;
  std::vector<std::uint32_t> slots_;
  std::size_t mask_ = 0;
};

// Held to the range of 64-bit nanoseconds (years 1678 to 2262): far-off times a user set compare
// equal to each other, but every change also sets the ctime to now, and the ctime tells.
std::int64_t ns(const struct timespec& t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             system_time_at(t.tv_sec, t.tv_nsec).time_since_epoch())
      .count();
}

std::string path_of(const Node* parent, std::string_view name) {
  std::vector<const Node*> chain;
  for (const Node* n = parent; n != nullptr; n = n->parent.get()) chain.push_back(n);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out += (*it)->name;
    if (out.empty() || out.back() != '/') out += '/';
  }
  out += name;
  return out;
}

// Progress counters a worker publishes after each directory; one cache line each.
struct alignas(64) Published {
  std::atomic<std::uint64_t> files{0};
  std::atomic<std::uint64_t> directories{0};
  std::atomic<std::uint64_t> errors{0};
};

struct Local {
  Counts counts;
  std::uint64_t errors = 0;
  std::vector<ScanError> samples;
  std::uint64_t read = 0;
  std::uint64_t reused = 0;
  std::vector<DirRecord> records;
  std::vector<std::uint32_t> reused_indices;
};

// CPU time of the whole process (all its threads).
std::chrono::nanoseconds process_cpu_time() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return std::chrono::seconds{t.tv_sec} + std::chrono::nanoseconds{t.tv_nsec};
}

class Walk {
 public:
  Walk(const WalkInput& input, const CountOptions& options)
      : in_(input), options_(options), threads_(options.threads == 0 ? 1 : options.threads) {
    if (in_.previous != nullptr) index_ = RecordIndex(in_.previous->records);
  }

  WalkOutput run(const Clock& clock) {
    const SteadyTime start = clock.steady_now();
    std::vector<Local> locals(threads_);
    std::vector<Published> published(threads_);
    root_fd_ = std::make_shared<DirFd>(::fcntl(in_.root_fd, F_DUPFD_CLOEXEC, 0), nullptr);
    root_node_ = std::make_shared<Node>(Node{nullptr, in_.root_path, root_fd_});
    clock_ = &clock;
    std::string stop_reason = should_stop(clock);
    if (!stop_reason.empty()) {
      finished_ = true;
      abandoned_.store(true);
    } else {
      process_root(locals[0]);
      publish(locals[0], published[0]);
      // The root's listing (millions of entries, perhaps) may have run into the deadline.
      stop_reason = should_stop(clock);
      if (!stop_reason.empty()) request_stop();
    }

    // Workers start as the walk shows it needs them: one per core at first, and twice as many
    // each ramp step while the running ones are mostly waiting (on a network file system, on a
    // cold disk). A walk the cores can keep up with (a cached tree, a rescan that mostly stats)
    // never pays for threads that would only queue for the CPU.
    std::vector<std::thread> workers;
    workers.reserve(threads_);
    const auto spawn = [&](std::size_t count) {
      for (; count > 0 && workers.size() < threads_; --count) {
        const std::size_t i = workers.size();
        workers.emplace_back([this, &locals, &published, i] { work(locals[i], published[i]); });
      }
    };
    const std::size_t cores = std::max(1U, std::thread::hardware_concurrency());
    if (stop_reason.empty()) spawn(cores);
    SteadyTime last_progress = clock.steady_now();
    auto ramp_wall = std::chrono::steady_clock::now();
    auto ramp_cpu = process_cpu_time();
    while (stop_reason.empty()) {
      const bool ramping = workers.size() < threads_;
      {
        std::unique_lock lock(mutex_);
        if (finished_cv_.wait_for(lock, ramping ? options_.ramp_window : options_.poll_interval,
                                  [this] { return finished_; })) {
          break;
        }
      }
      stop_reason = should_stop(clock);
      if (!stop_reason.empty()) {
        request_stop();
        break;
      }
      if (ramping) {
        // Measured over at least a ramp window since the worker count last changed.
        const auto cpu = process_cpu_time();
        const auto wall = std::chrono::steady_clock::now();
        if (wall - ramp_wall >= options_.ramp_window) {
          const double busy = std::chrono::duration<double>(cpu - ramp_cpu).count() /
                              std::chrono::duration<double>(wall - ramp_wall).count();
          // Busy is at most the cores in use: workers that leave more than a tenth of that idle
          // are waiting (on the network, on the disk), and more of them keep more reads going.
          const double usable = static_cast<double>(std::min<std::size_t>(workers.size(), cores));
          if (busy < 0.9 * usable) {
            spawn(workers.size());
            ramp_cpu = process_cpu_time();
            ramp_wall = std::chrono::steady_clock::now();
          }
        }
      }
      const SteadyTime now = clock.steady_now();
      if (options_.on_progress && now - last_progress >= options_.poll_interval) {
        last_progress = now;
        options_.on_progress(sum(published, now - start));
      }
    }
    workers_started_ = workers.size();
    for (std::thread& t : workers) t.join();
    // A stop requested during the last stretch makes the result partial only if work was
    // actually left: `abandoned_` records whether any directory was skipped or cut short.
    WalkOutput out;
    CountResult& r = out.result;
    for (Local& l : locals) {
      r.counts += l.counts;
      r.errors += l.errors;
      r.directories_read += l.read;
      r.directories_reused += l.reused;
      for (ScanError& e : l.samples) {
        if (r.error_samples.size() < options_.max_error_samples) r.error_samples.push_back(e);
      }
      for (DirRecord& d : l.records) out.records.push_back(std::move(d));
      out.reused.insert(out.reused.end(), l.reused_indices.begin(), l.reused_indices.end());
    }
    r.threads = workers_started_;
    r.complete = !abandoned_.load();
    if (!r.complete) r.incomplete_reason = stop_reason.empty() ? "cancelled" : stop_reason;
    r.elapsed = clock.steady_now() - start;
    stack_.clear();
    root_node_.reset();
    root_fd_.reset();
    return out;
  }

 private:
  std::string should_stop(const Clock& clock) const {
    if (options_.deadline && clock.steady_now() >= *options_.deadline) return "deadline";
    if (options_.cancelled && options_.cancelled()) return "cancelled";
    return {};
  }

  void request_stop() {
    std::lock_guard lock(mutex_);
    stop_.store(true);
    if (!stack_.empty()) abandoned_.store(true);
    work_cv_.notify_all();
  }

  static Progress sum(const std::vector<Published>& published, std::chrono::nanoseconds elapsed) {
    Progress p;
    for (const Published& w : published) {
      p.files += w.files.load(std::memory_order_relaxed);
      p.directories += w.directories.load(std::memory_order_relaxed);
      p.errors += w.errors.load(std::memory_order_relaxed);
    }
    p.elapsed = elapsed;
    return p;
  }

  static void publish(const Local& l, Published& p) {
    p.files.store(l.counts.files, std::memory_order_relaxed);
    p.directories.store(l.counts.directories, std::memory_order_relaxed);
    p.errors.store(l.errors, std::memory_order_relaxed);
  }

  // Each worker walks depth first from a stack of its own, and hands the shallower half of it
  // to the shared stack only when another worker is idle: the shared lock is taken about once
  // per chunk of work, not once per directory.
  void work(Local& local, Published& published) {
    std::vector<char> buffer(kBufferSize);
    std::vector<Item> mine;
    std::vector<Item> found;
    bool counted_busy = false;
    for (;;) {
      if (mine.empty()) {
        std::unique_lock lock(mutex_);
        if (counted_busy) {
          counted_busy = false;
          --busy_;
        }
        ++idle_;
        work_cv_.wait(lock, [this] { return stop_.load() || !stack_.empty() || busy_ == 0; });
        --idle_;
        if (stop_.load() || stack_.empty()) {
          finished_ = true;
          work_cv_.notify_all();
          finished_cv_.notify_all();
          return;
        }
        const std::size_t take = std::max<std::size_t>(1, stack_.size() / threads_);
        const auto first = stack_.end() - static_cast<std::ptrdiff_t>(take);
        mine.insert(mine.end(), std::make_move_iterator(first),
                    std::make_move_iterator(stack_.end()));
        stack_.erase(first, stack_.end());
        ++busy_;
        counted_busy = true;
      }
      if (stop_.load(std::memory_order_relaxed)) {
        abandoned_.store(true);
        mine.clear();
        continue;
      }
      Item item = std::move(mine.back());
      mine.pop_back();
      process(std::move(item), local, buffer, found);
      publish(local, published);
      for (Item& f : found) mine.push_back(std::move(f));
      found.clear();
      if (mine.size() > 1 && idle_.load(std::memory_order_relaxed) > 0) {
        const auto give = static_cast<std::ptrdiff_t>(mine.size() / 2);
        {
          std::lock_guard lock(mutex_);
          stack_.insert(stack_.end(), std::make_move_iterator(mine.begin()),
                        std::make_move_iterator(mine.begin() + give));
        }
        work_cv_.notify_all();
        mine.erase(mine.begin(), mine.begin() + give);
      }
    }
  }

  void fail(Local& local, const std::shared_ptr<const Node>& parent, std::string_view name,
            int error_number) {
    ++local.errors;
    if (local.samples.size() < options_.max_error_samples) {
      local.samples.push_back(
          ScanError{path_of(parent.get(), name), error_number, std::strerror(error_number)});
    }
  }

  // Opens the directory `node` names, from its nearest ancestor whose descriptor is still open.
  int reopen(const Node& node) {
    std::vector<const Node*> chain;
    std::shared_ptr<DirFd> anchor;
    for (const Node* n = &node; n != nullptr; n = n->parent.get()) {
      anchor = n->fd.lock();
      if (anchor) break;
      chain.push_back(n);
    }
    if (!anchor) fail_invariant("walk: the root descriptor closed during the walk");
    int fd = anchor->fd;
    int owned = -1;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      const int next = ::openat(fd, (*it)->name.c_str(), kPathFlags);
      const int saved = errno;
      if (owned >= 0) ::close(owned);
      if (next < 0) {
        errno = saved;
        return -1;
      }
      owned = fd = next;
    }
    return owned >= 0 ? owned : ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  }

  const DirRecord* lookup(const struct stat& st) const {
    const DirRecord* r = index_.find(st.st_dev, st.st_ino);
    if (r == nullptr || r->mtime_ns != ns(st.st_mtim) || r->ctime_ns != ns(st.st_ctim)) {
      return nullptr;
    }
    return r;
  }

  void reuse(const DirRecord& record, Local& local) {
    local.counts += record.counts;
    ++local.reused;
    local.reused_indices.push_back(
        static_cast<std::uint32_t>(&record - in_.previous->records.data()));
  }

  // Queues the children of a directory (taking ownership of fd): they keep its descriptor open
  // while the budget allows, else they are reached again from an open ancestor. `parent` is
  // null for the root, whose own descriptor serves (fd, if not -1, is closed); `device` is the
  // directory's own.
  void adopt(int fd, const std::shared_ptr<const Node>& parent, std::string_view name,
             std::uint64_t device, std::vector<Subdirectory> subdirectories,
             std::vector<Item>& found) {
    std::shared_ptr<const Node> node;
    std::shared_ptr<DirFd> dir_fd;
    if (!parent) {
      if (fd >= 0) ::close(fd);
      node = root_node_;
      dir_fd = root_fd_;
    } else {
      if (open_.fetch_add(1, std::memory_order_relaxed) < options_.max_open_directories) {
        dir_fd = std::make_shared<DirFd>(fd, &open_);
      } else {
        open_.fetch_sub(1, std::memory_order_relaxed);
        ::close(fd);
      }
      node = std::make_shared<const Node>(Node{parent, std::string(name), dir_fd});
    }
    for (Subdirectory& sub : subdirectories) {
      found.push_back(Item{node, dir_fd, std::move(sub.name), index_.find(device, sub.inode)});
    }
  }

  void process_root(Local& local) {
    struct stat st {};
    // Without a fresh answer the root is listed: nothing is proved unchanged by a cached one.
    const bool fresh = fresh_stat(root_fd_->fd, "", AT_EMPTY_PATH, st) == 0;
    if (!fresh && ::fstat(root_fd_->fd, &st) != 0) {
      fail_invariant("walk: fstat on the open root failed");
    }
    std::vector<Item> found;
    if (const DirRecord* r = fresh && in_.previous != nullptr ? lookup(st) : nullptr) {
      reuse(*r, local);
      adopt(-1, nullptr, {}, r->device, r->subdirectories, found);
    } else {
      std::vector<char> buffer(kBufferSize);
      list(::fcntl(root_fd_->fd, F_DUPFD_CLOEXEC, 0), st, nullptr, in_.root_path, local, buffer,
           found);
    }
    for (Item& f : found) stack_.push_back(std::move(f));
  }

  void process(Item item, Local& local, std::vector<char>& buffer, std::vector<Item>& found) {
    int parent_fd = item.parent_fd ? item.parent_fd->fd : -1;
    int owned_parent = -1;
    if (parent_fd < 0) {
      owned_parent = parent_fd = reopen(*item.parent);
      if (parent_fd < 0) {
        fail(local, item.parent, item.name, errno);
        return;
      }
    }
    // Done with the parent: its descriptor closes now if this was its last child.
    const auto release_parent = [&item, &owned_parent] {
      if (owned_parent >= 0) ::close(owned_parent);
      owned_parent = -1;
      item.parent_fd.reset();
    };
    if (in_.previous != nullptr && prove_unchanged(item, parent_fd, local, found)) {
      release_parent();
      return;
    }
    const int fd = ::openat(parent_fd, item.name.c_str(), kListFlags);
    const int open_errno = errno;
    release_parent();
    if (fd < 0) {
      fail(local, item.parent, item.name, open_errno);
      return;
    }
    struct stat st {};
    if (in_.build_cache && ::fstat(fd, &st) != 0) {
      fail(local, item.parent, item.name, errno);
      ::close(fd);
      return;
    }
    list(fd, st, item.parent, item.name, local, buffer, found);
  }

  // Incremental mode: reuses the record of the directory `item` names if it is unchanged, queueing
  // its subdirectories, or reports the error that makes it unreadable; true when done with it,
  // false when it has to be listed. An unchanged directory without subdirectories costs one stat.
  // One with subdirectories is opened (O_PATH, no listing) to reach them, and the stat of the open
  // directory proves it unchanged: when the parent's listing said which directory to expect and
  // that one has subdirectories, that open and stat are all it costs; otherwise a stat by name
  // comes first, to learn whether it has any.
  bool prove_unchanged(const Item& item, int parent_fd, Local& local, std::vector<Item>& found) {
    struct stat st {};
    if (item.expected == nullptr || item.expected->subdirectories.empty()) {
      if (fresh_stat(parent_fd, item.name.c_str(), AT_SYMLINK_NOFOLLOW, st) != 0) {
        if (cannot_statx(errno)) return false;  // nothing proved: listed
        fail(local, item.parent, item.name, errno);
        return true;
      }
      if (!S_ISDIR(st.st_mode)) {
        fail(local, item.parent, item.name, ENOTDIR);
        return true;
      }
      const DirRecord* match = lookup(st);
      if (match == nullptr) return false;
      if (match->subdirectories.empty()) {
        reuse(*match, local);
        return true;
      }
    }
    const int fd = ::openat(parent_fd, item.name.c_str(), kPathFlags);
    if (fd < 0) {
      fail(local, item.parent, item.name, errno);
      return true;
    }
    if (fresh_stat(fd, "", AT_EMPTY_PATH, st) != 0) {
      const int err = errno;
      ::close(fd);
      if (cannot_statx(err)) return false;
      fail(local, item.parent, item.name, err);
      return true;
    }
    // The directory now open may differ from the one expected or stat'ed by name (replaced in
    // between): what counts is the record of this one, if it has one.
    const DirRecord* match = lookup(st);
    if (match == nullptr) {
      ::close(fd);
      return false;
    }
    reuse(*match, local);
    if (match->subdirectories.empty()) {
      ::close(fd);
    } else {
      adopt(fd, item.parent, item.name, match->device, match->subdirectories, found);
    }
    return true;
  }

  // Lists an open directory (taking ownership of fd) and counts its entries. `st` is its stat
  // taken before listing (only filled when building a cache; its device, with each entry's
  // d_ino, finds the record to expect for each subdirectory on the next level).
  void list(int fd, const struct stat& st, const std::shared_ptr<const Node>& parent,
            std::string_view name, Local& local, std::vector<char>& buffer,
            std::vector<Item>& found) {
    Counts direct;
    std::vector<Subdirectory> subdirectories;
    bool clean = true;
    bool stopped = false;
    for (;;) {
      // The root is listed before the coordinator watches the deadline: it watches for itself.
      if (stop_.load(std::memory_order_relaxed) ||
          (parent == nullptr && !should_stop(*clock_).empty())) {
        clean = false;
        stopped = true;
        abandoned_.store(true);
        break;
      }
      const ssize_t n = ::getdents64(fd, buffer.data(), buffer.size());
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(local, parent, name, errno);
        clean = false;
        break;
      }
      for (ssize_t off = 0; off < n;) {
        const auto* entry = reinterpret_cast<const struct dirent64*>(buffer.data() + off);
        off += entry->d_reclen;
        const char* entry_name = entry->d_name;
        if (entry_name[0] == '.' &&
            (entry_name[1] == '\0' || (entry_name[1] == '.' && entry_name[2] == '\0'))) {
          continue;
        }
        unsigned char type =
            options_.trust_d_type ? entry->d_type : static_cast<unsigned char>(DT_UNKNOWN);
        if (type == DT_UNKNOWN) {
          struct stat entry_st {};
          if (::fstatat(fd, entry_name, &entry_st, AT_SYMLINK_NOFOLLOW) != 0) {
            const int saved = errno;
            fail(local, parent, std::string(name) + "/" + entry_name, saved);
            clean = false;
            continue;
          }
          type = static_cast<unsigned char>(IFTODT(entry_st.st_mode));
        }
        switch (type) {
          case DT_REG:
            ++direct.files;
            break;
          case DT_DIR:
            ++direct.directories;
            subdirectories.push_back(Subdirectory{entry_name, entry->d_ino});
            break;
          case DT_LNK:
            ++direct.symlinks;
            break;
          default:
            ++direct.other;
            break;
        }
      }
    }
    local.counts += direct;
    ++local.read;
    if (clean && in_.build_cache && ns(st.st_mtim) < in_.racy_after_ns &&
        ns(st.st_ctim) < in_.racy_after_ns) {
      local.records.push_back(DirRecord{static_cast<std::uint64_t>(st.st_dev),
                                        static_cast<std::uint64_t>(st.st_ino), ns(st.st_mtim),
                                        ns(st.st_ctim), direct, subdirectories});
    }
    if (subdirectories.empty() || stopped || stop_.load(std::memory_order_relaxed)) {
      if (!subdirectories.empty()) abandoned_.store(true);
      ::close(fd);
      return;
    }
    adopt(fd, parent, name, static_cast<std::uint64_t>(st.st_dev), std::move(subdirectories),
          found);
  }

  const WalkInput& in_;
  const CountOptions& options_;
  const unsigned threads_;
  std::size_t workers_started_ = 0;
  RecordIndex index_;
  std::shared_ptr<DirFd> root_fd_;
  std::shared_ptr<const Node> root_node_;
  const Clock* clock_ = nullptr;  // run()'s, for the root's own deadline checks
  std::atomic<std::size_t> open_{0};

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable finished_cv_;
  std::vector<Item> stack_;
  std::size_t busy_ = 0;  // workers holding work of their own
  std::atomic<unsigned> idle_{0};
  bool finished_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> abandoned_{false};
};

}  // namespace

WalkOutput walk(const WalkInput& input, const CountOptions& options, const Clock& clock) {
  Walk w(input, options);
  return w.run(clock);
}

}  // namespace efsas::counter::detail
