// The storage back-end interface of file-service: one Backend per mount target. The directory
// back end (a host mount or any local directory) and the NFS back end (user-space NFSv4 to the
// mount target's IP) both implement it; the service routes, fails over and times out above it.
// Thread safety: every Backend method may be called from many threads at once. Calls block; the
// service runs them on its worker pool and enforces timeouts there, so a back end need not.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "efsas/clock.h"
#include "efsas/mount_target_list.h"
#include "efsas/result.h"

namespace efsas::service {

// Paths given to a Backend are already normalised by efsas::normalize_path (relative,
// "seg/seg", no "..", no reserved names); a back end still never resolves outside its root:
// no symbolic link is followed, inside the root or out of it.
//
// Error codes every back end uses, and what the service does with them:
//   kNotFound           the file (or a parent) does not exist             -> 404
//   kPreconditionFailed an If-Match / If-None-Match condition failed      -> 412
//   kConflict           the path names a directory where a file is needed,
//                       or a file where a directory is needed             -> 409
//   kInvalidArgument    the path goes through a symbolic link             -> 400
//   kResourceExhausted  out of space or quota (ENOSPC, EDQUOT)            -> 507
//   kPermissionDenied   the back end refused access (EACCES, EPERM)       -> fail over, then 503
//   kUnavailable, kTimeout, kIo: the mount target cannot serve now        -> fail over, then 503
// For put and remove, Error::retryable is true only when nothing under the real name can have
// changed, so the service may retry the same write on the next mount target.

struct FileInfo {
  std::uint64_t size = 0;
  SystemTime modified{};
  // A strong entity tag, with its quotes: "\"1f-5d2a...\"". Equal across mount targets of one
  // file system for the same file version; changes whenever the content may have changed.
  std::string etag;
  bool is_directory = false;
};

// The strong entity tag of a file version: "inode-size-mtime_ns" in hex, quoted. Every back end
// uses it, so one file has the same tag through any mount target and back end.
std::string make_etag(std::uint64_t inode, std::uint64_t size, SystemTime modified);

// A file opened for reading. Reads are positional, so one reader can serve many ranges.
class FileReader {
 public:
  virtual ~FileReader() = default;
  virtual const FileInfo& info() const = 0;
  // Reads up to buffer.size() bytes at offset; 0 only at end of file.
  virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buffer) = 0;
  // A local file descriptor the session may pass to sendfile(2) for zero-copy, or -1 when the
  // back end has none (then read_at is used). Owned by the reader; valid while it lives.
  virtual int native_fd() const { return -1; }
};

// The body of a put, pulled in chunks.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Reads up to buffer.size() bytes; 0 at the end of the body.
  virtual Result<std::size_t> read(std::span<char> buffer) = 0;
  // Starts again from the first byte, for a retry on another mount target; false if it cannot.
  virtual bool rewind() { return false; }
  // The total size when known in advance.
  virtual std::optional<std::uint64_t> size() const { return std::nullopt; }
};

// A BodySource over bytes held in memory (the view must outlive the source).
class MemoryBodySource final : public BodySource {
 public:
  explicit MemoryBodySource(std::string_view data) : data_(data) {}
  Result<std::size_t> read(std::span<char> buffer) override;
  bool rewind() override {
    position_ = 0;
    return true;
  }
  std::optional<std::uint64_t> size() const override { return data_.size(); }

 private:
  std::string_view data_;
  std::size_t position_ = 0;
};

// A BodySource over the first `size` bytes of an open file, read with pread (the descriptor
// must outlive the source; its file offset is left alone).
class FileBodySource final : public BodySource {
 public:
  FileBodySource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  Result<std::size_t> read(std::span<char> buffer) override;
  bool rewind() override {
    position_ = 0;
    return true;
  }
  std::optional<std::uint64_t> size() const override { return size_; }

 private:
  int fd_;
  std::uint64_t size_;
  std::uint64_t position_ = 0;
};

// Conditions for a write or a delete (HTTP If-Match / If-None-Match: *).
struct WriteCondition {
  // Succeed only if the file exists with one of these entity tags: the If-Match header's value,
  // a list compared strongly as on a GET ("*": exists with any etag). Both back ends check it
  // again on the file they replace or remove, locked until the rename or removal
  // (docs/http-api.md).
  std::optional<std::string> if_match;
  // Succeed only if no file exists under the name (atomically: a concurrent creator loses).
  bool if_none_match_any = false;
  // Succeed only if the file does not have one of these entity tags (If-None-Match with a list,
  // compared weakly; DELETE only: a PUT takes "*" alone).
  std::optional<std::string> if_none_match;
  // Succeed only if the file was not modified after this second (If-Unmodified-Since). Ignored
  // when if_match is set, and when there is no file (it has no modification time), as RFC 9110
  // 13.2.2 orders them.
  std::optional<SystemTime> if_unmodified_since;
};

// Whether a write or a delete may go ahead under `condition`, given the file under the name now
// (null: there is none): PreconditionFailed when it may not. Every back end decides with this.
Status check_write_condition(const WriteCondition& condition, const FileInfo* current);

// How long a write waits for another writer of its name (in this process, or another task's
// lock file) before it gives up.
inline constexpr std::chrono::seconds kNameLockWait{5};
// Error::remote_code of a write that gave up so: the name is busy. Every mount target reaches the
// same file system, and so the same lock: no other target is tried, and the answer is 503 with
// Retry-After.
inline constexpr std::string_view kNameBusy = "NameBusy";
Error name_busy(std::string_view path);

// In-process locks on names, for the back ends of one process (they all reach one file system):
// a replacement or removal holds its name's lock from its last check to its rename or removal, so
// no other writer in the process can change the name in between. Each back end chooses its keys.
// Thread safety: lock may be called from many threads at once.
class NameLocks {
 public:
  // Releases its name's lock when it goes; an empty Hold holds nothing.
  class Hold {
   public:
    Hold() = default;
    Hold(Hold&& other) noexcept;
    Hold& operator=(Hold&& other) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() { release(); }
    bool held() const { return locks_ != nullptr; }

   private:
    friend class NameLocks;
    Hold(NameLocks* locks, std::string key) : locks_(locks), key_(std::move(key)) {}
    void release();
    NameLocks* locks_ = nullptr;
    std::string key_;
  };

  // Waits while another holds `key`, until `deadline`: then an empty Hold (held() false).
  Hold lock(std::string key, SteadyTime deadline = SteadyTime::max());

 private:
  struct Entry {
    bool held = false;
    std::size_t waiting = 0;
  };
  void unlock(const std::string& key);

  std::mutex mutex_;
  std::condition_variable released_;
  std::unordered_map<std::string, Entry> entries_;
};

struct PutResult {
  bool created = false;  // true: there was no file under the name before (HTTP 201)
  FileInfo info;         // of the new file
};

struct ListEntry {
  std::string name;  // one segment
  bool is_directory = false;
  std::uint64_t size = 0;
  SystemTime modified{};
};

struct ListPage {
  std::vector<ListEntry> entries;  // sorted by name (bytewise)
  std::string next_token;          // empty when this is the last page
};

// Turns a listed entry into the page's entry, or drops it (nullopt): the directory back end
// looks each one up afresh.
using LookUp = std::function<std::optional<ListEntry>(const ListEntry&)>;

// The page of a sorted listing that follows `token`: up to `limit` entries whose names sort
// after it (each through `look` when given), and the next page's token (empty when none follow).
ListPage page_after(const std::vector<ListEntry>& sorted, std::size_t limit, std::string_view token,
                    const LookUp& look = {});

// Sorted listings of directories larger than one page, kept between pages, so that paging
// through N entries reads the directory about once instead of once per page (each read is the
// whole directory: neither readdir nor NFS READDIR returns names in order). A listing is used
// only while its directory has the inode and modification time it had when it was read, only if
// that time was more than kRacyMargin before the read began (so a change within the same
// timestamp granule cannot hide), and for at most kMaxAge. The back ends of a process share one
// (listing_cache()), keyed by mount target and directory, so its bound holds for the process.
// Thread safety: any member from any thread.
class ListingCache {
 public:
  using Entries = std::shared_ptr<const std::vector<ListEntry>>;
  struct Stamp {
    std::uint64_t inode = 0;
    SystemTime modified{};
  };
  static constexpr std::size_t kMaxEntries = 500'000;  // in all listings kept, by default
  static constexpr std::chrono::seconds kMaxAge{30};
  static constexpr std::chrono::seconds kRacyMargin{2};

  explicit ListingCache(std::size_t max_entries = kMaxEntries) : max_entries_(max_entries) {}

  // What a back end's list() asks: the sorted listing under `key` for a page of `limit`. The kept
  // one while the directory's stamp still holds, else what `read()` returns, kept for the next
  // pages when it is larger than one page. `stamp()` reads the directory's stamp (nullopt when it
  // cannot), and is called only when a listing is kept or to keep one.
  Result<Entries> listing(const std::string& key, std::size_t limit,
                          const std::function<std::optional<Stamp>()>& stamp,
                          const std::function<Result<Entries>()>& read);

  // Whether a listing of `dir` is kept (to check its stamp only then).
  bool has(const std::string& dir) const;
  // The listing kept for `dir` if its directory still has `stamp`; null otherwise.
  Entries find(const std::string& dir, const Stamp& stamp, SystemTime now);
  // Keeps a listing whose read began at `started`, with its directory's stamp taken after the
  // read, when it can be trusted later (see above) and fits.
  void store(const std::string& dir, const Stamp& stamp, SystemTime started, Entries entries);

 private:
  struct Kept {
    Stamp stamp;
    SystemTime started{};
    Entries entries;
    std::uint64_t last_use = 0;
  };
  void drop_locked(std::unordered_map<std::string, Kept>::iterator it);

  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Kept> kept_;
  std::size_t total_ = 0;
  std::uint64_t uses_ = 0;
};

// The process's listing cache, for every back end.
ListingCache& listing_cache();

class Backend {
 public:
  virtual ~Backend() = default;

  // The mount target this back end reaches.
  virtual const MountTarget& target() const = 0;

  // True when the back end's calls cannot hang on a network: its storage is a local disk file
  // system of this host (ext4, xfs, tmpfs, ...), not NFS, FUSE or another network file system.
  // The service may then run its calls on the network threads, as a static web server does,
  // instead of handing each one to the worker pool. May change (a directory remounted).
  virtual bool local() const { return false; }

  // Atomic write: the body goes to a temporary file beside the target (named with
  // efsas::kReservedPrefix), which is flushed to stable storage and renamed over the target;
  // the directory is then flushed too. Parents are created as needed, once the condition cannot
  // fail for want of the file, and flushed. A reader sees the old file or the new one, never a
  // mix; on any failure the temporary file is removed (the directory back end removes the
  // parents it created too).
  virtual Result<PutResult> put(std::string_view path, BodySource& body,
                                const WriteCondition& condition) = 0;

  // Opens a regular file for streaming. kConflict for a directory.
  virtual Result<std::shared_ptr<FileReader>> open(std::string_view path) = 0;

  // The file's or directory's metadata, without opening it for reading.
  virtual Result<FileInfo> stat(std::string_view path) = 0;

  // Removes a regular file (not a directory).
  virtual Status remove(std::string_view path, const WriteCondition& condition) = 0;

  // Lists a directory ("" is the root): up to `limit` entries whose names sort after `token`
  // (the previous page's next_token; empty for the first page). The service's temporary files
  // are never listed.
  virtual Result<ListPage> list(std::string_view dir, std::size_t limit,
                                std::string_view token) = 0;

  // Creates the directory and any missing parents ("mkdir -p").
  virtual Status make_directories(std::string_view dir) = 0;

  // A small write-then-read of a probe file under the root (a reserved name), to tell whether the
  // mount target serves right now. The caller bounds it with its timeout.
  virtual Status probe() = 0;

  // Removes temporary files left by crashed writers under `dir` (recursively) whose last change
  // (ctime: a client can set a file's mtime, and an NFS exclusive create stores its verifier
  // there until the first write, but not its ctime) is older than `older_than`, looking at no
  // more than `max_entries` directory entries.
  // Subdirectories are visited depth first in a random order, so when the budget runs out
  // before the tree does, repeated sweeps still reach every part of it in time.
  // Returns how many were removed.
  virtual Result<std::size_t> sweep_temp_files(std::string_view dir, SystemTime older_than,
                                               std::size_t max_entries) = 0;
};

// Makes the Backend for a mount target; the service calls it when a new mount-target list
// arrives (and keeps the back ends of targets that stay).
class BackendFactory {
 public:
  virtual ~BackendFactory() = default;
  virtual Result<std::shared_ptr<Backend>> create(const MountTarget& target) = 0;
};

}  // namespace efsas::service
