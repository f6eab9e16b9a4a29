// The plain-directory back end: POSIX file operations beneath a root directory, never following
// a symbolic link, with atomic writes (temp file, fsync, rename, directory fsync).
#include "efsas/service/directory_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "efsas/path.h"

namespace efsas::service {
namespace {

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// "'a/b' is a directory". Built by appending: GCC 12 -O3 misreads the operator+ chain (-Wrestrict).
std::string quoted(std::string_view path, std::string_view rest) {
  std::string out;
  out.reserve(path.size() + rest.size() + 2);
  out += '\'';
  out += path;
  out += '\'';
  out += rest;
  return out;
}

// File systems on a local disk or in memory, whose calls cannot wait on a network. Anything
// else (NFS, FUSE, SMB, Ceph, 9p, ...) counts as remote.
bool is_local_file_system(decltype(statfs::f_type) type) {
  switch (static_cast<std::uint64_t>(type)) {
    case 0xEF53:      // ext2, ext3, ext4
    case 0x58465342:  // xfs
    case 0x9123683E:  // btrfs
    case 0x01021994:  // tmpfs
    case 0x858458F6:  // ramfs
    case 0x794C7630:  // overlayfs (a container's root on local disk)
    case 0xF2F52010:  // f2fs
    case 0x2FC12FC1:  // zfs
      return true;
    default:
      return false;
  }
}

// What an errno means to the service (see the table in backend.h).
Error errno_error(int err, std::string_view what, std::string_view path, bool retryable) {
  std::string message(what);
  message += ' ';
  message += quoted(path, ": ");
  message += std::strerror(err);
  switch (err) {
    case ENOENT:
      return make_error(ErrorCode::kNotFound, std::move(message), retryable);
    case ELOOP:
    case EXDEV:
      return make_error(ErrorCode::kInvalidArgument, quoted(path, " goes through a symbolic link"),
                        retryable);
    case ENAMETOOLONG:
      return make_error(ErrorCode::kInvalidArgument, std::move(message), retryable);
    case EISDIR:
    case ENOTDIR:
    case ENOTEMPTY:
    case EEXIST:
      return make_error(ErrorCode::kConflict, std::move(message), retryable);
    case ENOSPC:
    case EDQUOT:
      return make_error(ErrorCode::kResourceExhausted, std::move(message), retryable);
    case EMFILE:
    case ENFILE:
      // The task (or the host) is out of descriptors, not the file system out of space: a busy
      // moment that passes, 503 and not 507.
      return make_error(ErrorCode::kUnavailable, std::move(message), true);
    case EACCES:
    case EPERM:
      return make_error(ErrorCode::kPermissionDenied, std::move(message), retryable);
    // A mount that is read-only may be this mount target's alone (a host mount made so): another
    // may take the write.
    case EROFS:
    case ESTALE:
    case ENODEV:
    case ENXIO:
    case ETIMEDOUT:
    case ENOTCONN:
    case EHOSTDOWN:
      return make_error(ErrorCode::kUnavailable, std::move(message), retryable);
    default:
      return make_error(ErrorCode::kIo, std::move(message), retryable);
  }
}

// What a write or removal answers for a name that is there but is not a regular file, as a read
// does: a symbolic link is refused (400); a directory, FIFO, socket or device is a conflict (409).
Error not_a_file(const struct stat& st, std::string_view path) {
  if (S_ISLNK(st.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument, quoted(path, " goes through a symbolic link"),
                      true);
  }
  return make_error(ErrorCode::kConflict,
                    quoted(path, S_ISDIR(st.st_mode) ? " is a directory" : " is not a file"), true);
}

SystemTime to_system_time(const struct timespec& ts) {
  return system_time_at(ts.tv_sec, ts.tv_nsec);
}

std::string make_etag(const struct stat& st) {
  return service::make_etag(static_cast<std::uint64_t>(st.st_ino),
                            static_cast<std::uint64_t>(st.st_size), to_system_time(st.st_mtim));
}

FileInfo to_file_info(const struct stat& st) {
  FileInfo info;
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.modified = to_system_time(st.st_mtim);
  info.etag = make_etag(st);
  info.is_directory = S_ISDIR(st.st_mode);
  return info;
}

std::pair<std::string_view, std::string_view> split_parent(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view{}, path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

bool is_reserved(std::string_view name) {
  return name.substr(0, kReservedPrefix.size()) == kReservedPrefix;
}

// Runs a function when it goes out of scope, unless dismissed first.
template <class Undo>
class UndoUnlessDismissed {
 public:
  explicit UndoUnlessDismissed(Undo undo) : undo_(std::move(undo)) {}
  ~UndoUnlessDismissed() {
    if (armed_) undo_();
  }
  UndoUnlessDismissed(const UndoUnlessDismissed&) = delete;
  UndoUnlessDismissed& operator=(const UndoUnlessDismissed&) = delete;
  void dismiss() { armed_ = false; }

 private:
  Undo undo_;
  bool armed_ = true;
};

// Whether a write or removal may go ahead on the file whose stat is `st` (null: there is none).
Status condition_holds(const WriteCondition& condition, const struct stat* st) {
  if (st == nullptr) return check_write_condition(condition, nullptr);
  const FileInfo info = to_file_info(*st);
  return check_write_condition(condition, &info);
}

// A copy of the descriptor `fd` (of `path`), or why there is none: out of descriptors is as
// likely here as anywhere (a copy unchecked once made a write fail with EBADF, a 500).
Result<Fd> copy_of(int fd, std::string_view path) {
  Fd copy{::fcntl(fd, F_DUPFD_CLOEXEC, 0)};
  if (!copy.valid()) return errno_error(errno, "open", path, true);
  return copy;
}

// A directory stream over a copy of `dir_fd` (which stays the caller's): closedir() it. Null,
// with errno set, when it cannot be opened.
DIR* open_stream(int dir_fd) {
  const int copy = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return nullptr;
  DIR* stream = ::fdopendir(copy);
  if (stream == nullptr) {
    const int saved = errno;
    ::close(copy);
    errno = saved;
  }
  return stream;
}

// Takes an OFD write lock on the byte at `offset`, waiting until `deadline`. 0, or the errno:
// EAGAIN when another writer still held it then; ENOLCK, EINVAL or EOPNOTSUPP when the file
// system cannot lock.
int lock_byte(int fd, std::uint64_t offset, std::chrono::steady_clock::time_point deadline) {
  struct flock one {};
  one.l_type = F_WRLCK;
  one.l_whence = SEEK_SET;
  one.l_start = static_cast<off_t>(offset);
  one.l_len = 1;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (::fcntl(fd, F_OFD_SETLK, &one) == 0) return 0;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EACCES) return errno;
    if (std::chrono::steady_clock::now() >= deadline) return EAGAIN;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

class DirectoryReader final : public FileReader {
 public:
  DirectoryReader(Fd fd, FileInfo info, std::string path)
      : fd_(std::move(fd)), info_(std::move(info)), path_(std::move(path)) {}
  const FileInfo& info() const override { return info_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buffer) override {
    for (;;) {
      const ssize_t n =
          ::pread(fd_.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return errno_error(errno, "read", path_, false);
    }
  }
  int native_fd() const override { return fd_.get(); }

 private:
  Fd fd_;
  FileInfo info_;
  std::string path_;
};

class DirectoryBackend final : public Backend {
 public:
  DirectoryBackend(MountTarget target, DirectoryBackendOptions options,
                   std::shared_ptr<NameLocks> name_locks)
      : target_(std::move(target)),
        options_(std::move(options)),
        name_locks_(std::move(name_locks)) {}

  const MountTarget& target() const override { return target_; }

  Result<PutResult> put(std::string_view path, BodySource& body,
                        const WriteCondition& condition) override {
    auto root = open_root();
    if (!root.ok()) return root.error();
    const auto [parent_path, name] = split_parent(path);
    // Parents are created only once no condition can fail for want of the file (a missing
    // parent means a missing file), and removed again if the write fails after all: the API
    // has no way to remove a directory.
    std::vector<std::string> created;
    UndoUnlessDismissed undo_parents([&] { remove_created(root->get(), created); });
    auto parent = open_directory(root->get(), parent_path, /*create=*/false);
    if (!parent.ok() && parent.error().code == ErrorCode::kNotFound) {
      if (auto status = condition_holds(condition, nullptr); !status.ok()) {
        return status.error();
      }
      parent = open_directory(root->get(), parent_path, /*create=*/true, &created);
    }
    if (!parent.ok()) return parent.error();
    const int dir = parent->get();

    struct stat before {};
    bool existed = false;
    if (::fstatat(dir, std::string(name).c_str(), &before, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISREG(before.st_mode)) return not_a_file(before, path);
      existed = true;
    } else if (errno != ENOENT) {
      return errno_error(errno, "stat", path, true);
    }
    if (auto status = condition_holds(condition, existed ? &before : nullptr); !status.ok()) {
      return status.error();
    }

    // Unique per process, mount target and write: back ends of one process share the file
    // system (every mount target shows the same files), and other tasks write there too.
    std::string temp;
    Fd file;
    for (int attempt = 0; attempt < 3 && !file.valid(); ++attempt) {
      temp = std::string(kReservedPrefix) + options_.instance_id + "-" + target_.id + "-" +
             std::to_string(counter_.fetch_add(1)) + ".tmp";
      file = Fd{
          ::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644)};
      if (!file.valid() && errno != EEXIST) break;
    }
    if (!file.valid()) return errno_error(errno, "create temporary file in", parent_path, true);
    auto fail = [&](Error error) -> Result<PutResult> {
      file.reset();
      ::unlinkat(dir, temp.c_str(), 0);
      return error;
    };

    std::vector<char> buffer(256 * 1024);
    for (;;) {
      auto n = body.read(buffer);
      if (!n.ok()) return fail(n.error());
      if (*n == 0) break;
      std::size_t done = 0;
      while (done < *n) {
        const ssize_t w = ::write(file.get(), buffer.data() + done, *n - done);
        if (w < 0) {
          if (errno == EINTR) continue;
          return fail(errno_error(errno, "write", path, true));
        }
        done += static_cast<std::size_t>(w);
      }
    }
    if (::fsync(file.get()) != 0) return fail(errno_error(errno, "fsync", path, true));
    struct stat after {};
    if (::fstat(file.get(), &after) != 0) return fail(errno_error(errno, "stat", path, true));
    file.reset();

    bool created_file = !existed;
    // Held from the last check to the rename (see lock_current); released on return.
    Result<LockedName> current = LockedName{};
    if (condition.if_none_match_any) {
      // link(2) fails if the name exists, so a concurrent creator cannot be overwritten.
      if (::linkat(dir, temp.c_str(), dir, std::string(name).c_str(), 0) != 0) {
        const int err = errno;
        if (err == EEXIST) {
          return fail(
              make_error(ErrorCode::kPreconditionFailed, quoted(path, " already exists"), false));
        }
        return fail(errno_error(err, "link", path, true));
      }
      ::unlinkat(dir, temp.c_str(), 0);
      created_file = true;
    } else {
      // The condition is checked again on the file under the name now, locked: no other writer
      // can replace or remove it before the rename (the first check only spared the upload).
      current = lock_current(root->get(), dir, std::string(name), path);
      if (!current.ok()) return fail(current.error());
      if (auto status = condition_holds(condition, current->exists ? &current->st : nullptr);
          !status.ok()) {
        return fail(status.error());
      }
      created_file = !current->exists;
      if (::renameat(dir, temp.c_str(), dir, std::string(name).c_str()) != 0) {
        return fail(errno_error(errno, "rename", path, true));
      }
    }
    undo_parents.dismiss();
    if (::fsync(dir) != 0) return errno_error(errno, "fsync directory of", path, false);
    return PutResult{created_file, to_file_info(after)};
  }

  Result<std::shared_ptr<FileReader>> open(std::string_view path) override {
    return read_with_root([&](int root) -> Result<std::shared_ptr<FileReader>> {
      // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, for ever if
      // none comes, holding a network thread or a worker. A regular file is read blocking.
      auto fd = resolve(root, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (!fd.ok()) return fd.error();
      struct stat st {};
      if (::fstat(fd->get(), &st) != 0) return errno_error(errno, "stat", path, false);
      if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::kConflict, quoted(path, " is not a file"));
      }
      const int flags = ::fcntl(fd->get(), F_GETFL);
      if (flags < 0 || ::fcntl(fd->get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
        return errno_error(errno, "open", path, false);
      }
      return std::shared_ptr<FileReader>(
          std::make_shared<DirectoryReader>(std::move(*fd), to_file_info(st), std::string(path)));
    });
  }

  Result<FileInfo> stat(std::string_view path) override {
    return read_with_root([&](int root) -> Result<FileInfo> {
      auto fd = path.empty() ? copy_of(root, path) : resolve(root, path, O_PATH | O_CLOEXEC);
      if (!fd.ok()) return fd.error();
      struct stat st {};
      if (::fstat(fd->get(), &st) != 0) return errno_error(errno, "stat", path, false);
      if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        return make_error(ErrorCode::kNotFound, quoted(path, " is not a file"));
      }
      return to_file_info(st);
    });
  }

  Status remove(std::string_view path, const WriteCondition& condition) override {
    auto root = open_root();
    if (!root.ok()) return root.error();
    const auto [parent_path, name] = split_parent(path);
    auto parent = open_directory(root->get(), parent_path, /*create=*/false);
    if (!parent.ok()) return parent.error();
    const std::string leaf(name);
    // Locked until the unlink, as a replacement is until its rename.
    auto current = lock_current(root->get(), parent->get(), leaf, path);
    if (!current.ok()) return current.error();
    if (!current->exists) return errno_error(ENOENT, "stat", path, true);
    if (auto status = condition_holds(condition, &current->st); !status.ok()) {
      return status;
    }
    if (::unlinkat(parent->get(), leaf.c_str(), 0) != 0) {
      return errno_error(errno, "remove", path, true);
    }
    if (::fsync(parent->get()) != 0) return errno_error(errno, "fsync directory of", path, false);
    return {};
  }

  Result<ListPage> list(std::string_view dir, std::size_t limit, std::string_view token) override {
    auto directory =
        read_with_root([&](int root) { return open_directory(root, dir, /*create=*/false); });
    if (!directory.ok()) return directory.error();
    const int dir_fd = directory->get();
    // The names, sorted, kept between the pages of a large directory; each page's entries are
    // looked at afresh.
    auto names = listing_cache().listing(
        target_.id + "/" + std::string(dir), limit,
        [&]() -> std::optional<ListingCache::Stamp> {
          struct stat st {};
          if (::fstat(dir_fd, &st) != 0) return std::nullopt;
          return ListingCache::Stamp{static_cast<std::uint64_t>(st.st_ino),
                                     to_system_time(st.st_mtim)};
        },
        [&]() -> Result<ListingCache::Entries> { return read_names(dir_fd, dir); });
    if (!names.ok()) return names.error();
    return page_after(
        **names, limit, token, [&](const ListEntry& listed) -> std::optional<ListEntry> {
          struct stat st {};
          if (::fstatat(dir_fd, listed.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            return std::nullopt;
          }
          // Links are never served, so they are not listed.
          if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return std::nullopt;
          return ListEntry{listed.name, S_ISDIR(st.st_mode), static_cast<std::uint64_t>(st.st_size),
                           to_system_time(st.st_mtim)};
        });
  }

  // The names in the directory open as `dir_fd` (no attributes), sorted, without reserved ones.
  static Result<ListingCache::Entries> read_names(int dir_fd, std::string_view dir) {
    auto read = std::make_shared<std::vector<ListEntry>>();
    DIR* stream = open_stream(dir_fd);
    if (stream == nullptr) return errno_error(errno, "list", dir, false);
    for (;;) {
      errno = 0;
      const dirent* entry = ::readdir(stream);
      if (entry == nullptr) break;
      const std::string_view name = entry->d_name;
      if (name == "." || name == ".." || is_reserved(name)) continue;
      read->push_back(ListEntry{std::string(name)});
    }
    const int read_errno = errno;  // 0 at the end; a failed read must not pass for the end
    ::closedir(stream);
    if (read_errno != 0) return errno_error(read_errno, "list", dir, false);
    std::sort(read->begin(), read->end(),
              [](const ListEntry& a, const ListEntry& b) { return a.name < b.name; });
    return ListingCache::Entries(std::move(read));
  }

  Status make_directories(std::string_view dir) override {
    auto root = open_root();
    if (!root.ok()) return root.error();
    auto directory = open_directory(root->get(), dir, /*create=*/true);
    if (!directory.ok()) return directory.error();
    return {};
  }

  bool local() const override { return local_.load(std::memory_order_relaxed); }

  Status probe() override {
    auto root = open_root();
    if (!root.ok()) return root.error();
    // Learnt here, where a hung network mount is bounded by the health check's timeout, and
    // re-learnt on every probe, so a directory mounted over later is noticed.
    struct statfs fs {};
    local_.store(::fstatfs(root->get(), &fs) == 0 && is_local_file_system(fs.f_type),
                 std::memory_order_relaxed);
    const std::string name =
        std::string(kReservedPrefix) + "probe-" + options_.instance_id + "-" + target_.id;
    const std::string expected = "probe " + std::to_string(counter_.fetch_add(1));
    {
      Fd fd{::openat(root->get(), name.c_str(),
                     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)};
      if (!fd.valid()) return errno_error(errno, "probe write", name, false);
      if (::write(fd.get(), expected.data(), expected.size()) !=
          static_cast<ssize_t>(expected.size())) {
        return errno_error(errno == 0 ? EIO : errno, "probe write", name, false);
      }
    }
    Fd fd{::openat(root->get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
    if (!fd.valid()) return errno_error(errno, "probe read", name, false);
    char buffer[64];
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    ::unlinkat(root->get(), name.c_str(), 0);
    if (n < 0) return errno_error(errno, "probe read", name, false);
    if (std::string_view(buffer, static_cast<std::size_t>(n)) != expected) {
      return make_error(ErrorCode::kDataLoss, "probe read back different bytes");
    }
    return {};
  }

  Result<std::size_t> sweep_temp_files(std::string_view dir, SystemTime older_than,
                                       std::size_t max_entries) override {
    auto root = open_root();
    if (!root.ok()) return root.error();
    auto directory = open_directory(root->get(), dir, /*create=*/false);
    if (!directory.ok()) return directory.error();
    std::size_t budget = max_entries;
    std::size_t removed = 0;
    std::mt19937_64 random(std::random_device{}());
    sweep(std::move(*directory), older_than, budget, removed, random);
    return removed;
  }

 private:
  // The root directory, open. The descriptor is kept between operations; a stat of the root path
  // checks that the path still names that directory (a remount or a moved link replaces it):
  // before every write, removal, probe and sweep, so nothing is ever written through a root the
  // path no longer names, and before a read when the last check is older than
  // read_root_check_interval. A read that fails through a root it did not check looks again and,
  // if the root changed, runs once more on the new one.
  struct Root {
    Fd fd;
    dev_t device = 0;
    ino_t inode = 0;
    // When the root path was last found to name this directory (steady clock, ns).
    mutable std::atomic<std::int64_t> checked_ns{0};
  };
  class RootRef {
   public:
    RootRef(std::shared_ptr<const Root> root, bool checked)
        : root_(std::move(root)), checked_(checked) {}
    int get() const { return root_->fd.get(); }
    // Whether this operation stat'ed the root path (rather than trusting a recent check).
    bool checked() const { return checked_; }
    bool same_directory(const RootRef& other) const {
      return root_->device == other.root_->device && root_->inode == other.root_->inode;
    }

   private:
    std::shared_ptr<const Root> root_;
    bool checked_;
  };

  Error root_error(int err) const {
    return make_error(ErrorCode::kUnavailable,
                      "mount target " + target_.id + " root '" + options_.root +
                          "' cannot be opened: " + std::strerror(err),
                      true);
  }

  static std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  enum class RootCheck { kAlways, kIfStale };

  Result<RootRef> open_root(RootCheck check = RootCheck::kAlways) const {
    const std::int64_t now = steady_ns();
    if (check == RootCheck::kIfStale) {
      std::lock_guard lock(root_mutex_);
      if (root_ && now - root_->checked_ns.load(std::memory_order_relaxed) <
                       options_.read_root_check_interval.count()) {
        return RootRef(root_, false);
      }
    }
    struct stat st {};
    if (::stat(options_.root.c_str(), &st) != 0) return root_error(errno);
    if (!S_ISDIR(st.st_mode)) return root_error(ENOTDIR);
    {
      std::lock_guard lock(root_mutex_);
      if (root_ && root_->device == st.st_dev && root_->inode == st.st_ino) {
        root_->checked_ns.store(now, std::memory_order_relaxed);
        return RootRef(root_, true);
      }
    }
    auto root = std::make_shared<Root>();
    root->fd = Fd{::open(options_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (!root->fd.valid()) return root_error(errno);
    if (::fstat(root->fd.get(), &st) != 0) return root_error(errno);
    root->device = st.st_dev;
    root->inode = st.st_ino;
    root->checked_ns.store(now, std::memory_order_relaxed);
    std::shared_ptr<const Root> shared = std::move(root);
    {
      std::lock_guard lock(root_mutex_);
      root_ = shared;
    }
    return RootRef(std::move(shared), true);
  }

  // Runs the read `attempt(root_fd)` through a root checked recently enough; see Root.
  template <class Attempt>
  auto read_with_root(Attempt&& attempt) const -> decltype(attempt(0)) {
    auto root = open_root(RootCheck::kIfStale);
    if (!root.ok()) return root.error();
    auto result = attempt(root->get());
    if (result.ok() || root->checked()) return result;
    auto fresh = open_root(RootCheck::kAlways);
    if (!fresh.ok()) return fresh.error();
    if (fresh->same_directory(*root)) return result;
    return attempt(fresh->get());
  }

  // Opens `path` beneath `root` without following any symbolic link.
  static Result<Fd> resolve(int root, std::string_view path, int flags) {
    const std::string p(path);
    open_how how{};
    how.flags = static_cast<__u64>(static_cast<unsigned>(flags));
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    // EAGAIN: a rename or mount raced the lookup, and trying again is right; but with O_NONBLOCK
    // it can also mean a lease held by another process, so the retries are few.
    for (int retries = 0;; ++retries) {
      const long fd = ::syscall(SYS_openat2, root, p.c_str(), &how, sizeof how);
      if (fd >= 0) return Fd{static_cast<int>(fd)};
      if (errno == EINTR || (errno == EAGAIN && retries < 16)) continue;
      if (errno == ENOSYS) break;
      // The longest path the service takes (4096 bytes) is over the kernel's PATH_MAX with its
      // NUL: walk it a segment at a time, as a write reaches its parent and then its name.
      if (errno == ENAMETOOLONG && p.size() >= PATH_MAX) break;
      return errno_error(errno, "open", path, true);
    }
    // Kernels before 5.6, and paths too long to pass whole: walk one component at a time,
    // never following a link.
    auto root_copy = copy_of(root, path);
    if (!root_copy.ok()) return root_copy.error();
    Fd current = std::move(root_copy).value();
    std::string_view rest = path;
    while (!rest.empty()) {
      const auto slash = rest.find('/');
      const std::string segment(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      const int segment_flags = rest.empty() ? flags : O_PATH | O_DIRECTORY | O_CLOEXEC;
      Fd next{::openat(current.get(), segment.c_str(), segment_flags | O_NOFOLLOW)};
      if (!next.valid()) {
        if (errno == ENOTDIR && !rest.empty()) return errno_error(ENOENT, "open", path, true);
        return errno_error(errno, "open", path, true);
      }
      current = std::move(next);
    }
    return current;
  }

  // Opens a directory for reading (and fsync), creating missing components when asked. Each
  // directory created is flushed into the directory that received it (a file written into it is
  // durable only if the directory is) and its path is added to `created`, outermost first.
  static Result<Fd> open_directory(int root, std::string_view path, bool create,
                                   std::vector<std::string>* created = nullptr) {
    if (path.empty()) return copy_of(root, path);
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    auto fd = resolve(root, path, kFlags);
    if (fd.ok() || !create || fd.error().code != ErrorCode::kNotFound) return fd;
    auto root_copy = copy_of(root, path);
    if (!root_copy.ok()) return root_copy.error();
    Fd current = std::move(root_copy).value();
    std::string_view rest = path;
    while (!rest.empty()) {
      const auto slash = rest.find('/');
      const std::string segment(rest.substr(0, slash));
      rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
      if (::mkdirat(current.get(), segment.c_str(), 0755) == 0) {
        if (created != nullptr) {
          created->emplace_back(path.substr(0, path.size() - rest.size() - (rest.empty() ? 0 : 1)));
        }
        if (::fsync(current.get()) != 0) {
          return errno_error(errno, "fsync directory of", path, true);
        }
      } else if (errno != EEXIST) {
        return errno_error(errno, "create directory", path, true);
      }
      Fd next{::openat(current.get(), segment.c_str(), kFlags | O_NOFOLLOW)};
      if (!next.valid()) return errno_error(errno, "open directory", path, true);
      current = std::move(next);
    }
    return current;
  }

  // The file under a name, locked for its replacement or removal.
  struct LockedName {
    bool exists = false;
    struct stat st {};  // of the file under the name, once locked
    NameLocks::Hold name_lock;
    Fd lock;  // the lock file, holding the name's byte (none when the file system cannot lock)
  };

  // Locks `name` in `dir` (the file `path`) against every other writer of it: the name's
  // in-process lock, then its byte in its lock file at `root` (name_lock_place: on NFS an NFSv4
  // lock, seen by every client of the file system), then reads what is under the name. The file
  // itself is never opened (see kNameLockPrefix). When the file system cannot lock, or the lock
  // file cannot be opened for writing, only the in-process lock holds. `exists` false: no file is
  // under the name.
  Result<LockedName> lock_current(int root, int dir, const std::string& name,
                                  std::string_view path) {
    LockedName locked;
    // By path, not by directory: each mount target is a mount of its own, so one directory has
    // as many device and inode numbers as there are targets.
    const SteadyTime give_up = std::chrono::steady_clock::now() + kNameLockWait;
    locked.name_lock = name_locks_->lock(std::string(path), give_up);
    if (!locked.name_lock.held()) return name_busy(path);
    const NameLockPlace place = name_lock_place(path);
    // Writable by whoever may write here (umask permitting): tasks may run as other users.
    locked.lock =
        Fd{::openat(root, place.file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666)};
    if (locked.lock.valid()) {
      const int err = lock_byte(locked.lock.get(), place.offset, give_up);
      if (err == EAGAIN) return name_busy(path);
      if (err != 0) {
        if (err != ENOLCK && err != EINVAL && err != EOPNOTSUPP) {
          return errno_error(err, "lock", path, true);
        }
        locked.lock.reset();
      }
    } else if (errno != EACCES && errno != EPERM && errno != EROFS) {
      return errno_error(errno, "open the lock file for", path, true);
    }
    if (::fstatat(dir, name.c_str(), &locked.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) return errno_error(errno, "stat", path, true);
      locked.exists = false;
      return locked;
    }
    if (!S_ISREG(locked.st.st_mode)) return not_a_file(locked.st, path);
    locked.exists = true;
    return locked;
  }

  // Removes the directories a failed write created, deepest first, while they are empty: one
  // another write has put a file in meanwhile stays, with those above it.
  static void remove_created(int root, const std::vector<std::string>& created) {
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      const auto [parent_path, name] = split_parent(*it);
      auto parent = open_directory(root, parent_path, /*create=*/false);
      if (!parent.ok() || ::unlinkat(parent->get(), std::string(name).c_str(), AT_REMOVEDIR) != 0) {
        return;
      }
      ::fsync(parent->get());
    }
  }

  static void sweep(Fd directory, SystemTime older_than, std::size_t& budget, std::size_t& removed,
                    std::mt19937_64& random) {
    DIR* stream = open_stream(directory.get());
    if (stream == nullptr) return;
    std::vector<std::string> subdirectories;
    while (const dirent* entry = ::readdir(stream)) {
      if (budget == 0) break;
      --budget;
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat st {};
      if (::fstatat(directory.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        subdirectories.emplace_back(name);
      } else if (S_ISREG(st.st_mode) && is_reserved(name) && !is_kept_reserved_file(name) &&
                 to_system_time(st.st_ctim) < older_than) {
        if (::unlinkat(directory.get(), entry->d_name, 0) == 0) ++removed;
      }
    }
    ::closedir(stream);
    std::shuffle(subdirectories.begin(), subdirectories.end(), random);
    for (const auto& sub : subdirectories) {
      if (budget == 0) return;
      Fd fd{
          ::openat(directory.get(), sub.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)};
      if (fd.valid()) sweep(std::move(fd), older_than, budget, removed, random);
    }
  }

  MountTarget target_;
  DirectoryBackendOptions options_;
  std::shared_ptr<NameLocks> name_locks_;
  std::atomic<std::uint64_t> counter_{0};
  std::atomic<bool> local_{false};  // until a probe has looked
  mutable std::mutex root_mutex_;
  mutable std::shared_ptr<const Root> root_;  // the last root opened
};

class DirectoryBackendFactory final : public BackendFactory {
 public:
  DirectoryBackendFactory(std::string path_template, std::string instance_id,
                          std::chrono::nanoseconds read_root_check_interval)
      : path_template_(std::move(path_template)),
        instance_id_(std::move(instance_id)),
        read_root_check_interval_(read_root_check_interval) {}
  Result<std::shared_ptr<Backend>> create(const MountTarget& target) override {
    auto root = expand_mount_path_template(path_template_, target);
    if (!root.ok()) return root.error();
    return std::shared_ptr<Backend>(std::make_shared<DirectoryBackend>(
        target, DirectoryBackendOptions{*root, instance_id_, read_root_check_interval_},
        name_locks_));
  }

 private:
  std::string path_template_;
  std::string instance_id_;
  std::chrono::nanoseconds read_root_check_interval_;
  // One for all the back ends it makes: every mount target shows the same files.
  std::shared_ptr<NameLocks> name_locks_ = std::make_shared<NameLocks>();
};

}  // namespace

NameLockPlace name_lock_place(std::string_view path) {
  // FNV-1a: the same in every build and version, which a rolling deployment runs side by side.
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : path) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const unsigned file = static_cast<unsigned>(hash % kNameLockFiles);
  NameLockPlace place;
  place.file = std::string(kNameLockPrefix) + kHex[file >> 4] + kHex[file & 0xf];
  place.offset = hash >> 2;  // an offset every fcntl and NFSv4 lock takes (below 2^62)
  return place;
}

std::shared_ptr<Backend> make_directory_backend(MountTarget target,
                                                DirectoryBackendOptions options) {
  return std::make_shared<DirectoryBackend>(std::move(target), std::move(options),
                                            std::make_shared<NameLocks>());
}

Result<std::string> expand_mount_path_template(std::string_view path_template,
                                               const MountTarget& target) {
  std::string out;
  for (std::size_t i = 0; i < path_template.size();) {
    if (path_template[i] != '{') {
      out += path_template[i++];
      continue;
    }
    const auto close = path_template.find('}', i);
    if (close == std::string_view::npos) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "unterminated placeholder in mount path template '" + std::string(path_template) + "'");
    }
    const auto name = path_template.substr(i + 1, close - i - 1);
    if (name == "id")
      out += target.id;
    else if (name == "az")
      out += target.availability_zone;
    else if (name == "az_id")
      out += target.availability_zone_id;
    else if (name == "ip")
      out += target.ip_address;
    else if (name == "subnet")
      out += target.subnet_id;
    else {
      return make_error(ErrorCode::kInvalidArgument,
                        "unknown placeholder {" + std::string(name) +
                            "} in mount path template (use {id}, {az}, {az_id}, {ip}, {subnet})");
    }
    i = close + 1;
  }
  return out;
}

std::shared_ptr<BackendFactory> make_directory_backend_factory(
    std::string path_template, std::string instance_id,
    std::chrono::nanoseconds read_root_check_interval) {
  return std::make_shared<DirectoryBackendFactory>(std::move(path_template), std::move(instance_id),
                                                   read_root_check_interval);
}

}  // namespace efsas::service
