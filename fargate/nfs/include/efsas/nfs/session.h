// One NFSv4 session: a libnfs context mounted on one mount target, wrapped so that none of
// libnfs 4.0's quirks leak out (writes chunked below its encoding limit, exclusive creates only,
// NFSv4 errors mapped from their message text, a per-call timeout, a unique client name).
// Thread safety: a Session (and any OpenFile from it) is used by one thread at a time; libnfs
// keeps one NFSv4 open sequence per context and concurrent opens or closes break it for good.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/clock.h"
#include "efsas/result.h"

// libnfs's own types, named here only so pointers to them can be held.
struct nfs_context;
struct nfsfh;
struct nfsdir;
struct nfs_stat_64;

namespace efsas::nfs {

struct SessionOptions {
  std::string server;  // the IPv4 address dialled (port 2049, NFSv4 over TCP)
  std::string export_path = "/";
  std::optional<int> uid;  // AUTH_SYS identity; the process's own when unset
  std::optional<int> gid;
  std::chrono::milliseconds timeout{5000};  // every call, the mount included
  // NFSv4 client name: unique per context across every process talking to the server.
  std::string client_name;
};

struct FileInfo {
  std::uint64_t size = 0;
  SystemTime mtime;
  std::uint64_t inode = 0;
  std::uint32_t mode = 0;  // permission bits and type, as st_mode
  bool is_directory = false;
};

struct DirEntry {
  std::string name;
  bool is_directory = false;
  bool is_regular = false;  // neither is true for a symbolic link, fifo, socket or device
  std::uint64_t size = 0;
  SystemTime mtime;
  SystemTime ctime;  // the last change of the file or its attributes, set by the server only
};

enum class PutMode { kReplace, kCreateOnly };

struct PutResult {
  bool replaced = false;  // a file of that name existed and was replaced
  FileInfo info;          // the new file's attributes
};

// Writes are sent in pieces no larger than this: libnfs 4.0 cannot encode an NFSv4 WRITE
// carrying more than 3944 bytes, less with longer file handles than ganesha's.
inline constexpr std::size_t kMaxWriteChunk = 3584;
// So many pieces are kept in flight at once, so that a write costs a few round trips per
// 100 KiB instead of one per piece (a round trip to EFS is far longer than on loopback).
inline constexpr int kWritesInFlight = 32;
// The largest READ asked for at once (servers cap it anyway; ganesha at 1 MiB).
inline constexpr std::size_t kMaxReadChunk = 1 << 20;

// Pulls a body to write: fills the buffer, returns how many bytes it put there (0 at the end).
using BodyReader = std::function<Result<std::size_t>(std::span<char>)>;

// A put's or remove's last word before its RENAME or REMOVE: given a function that reads the
// file then under the name (nullopt when there is none), it returns an error to stop the change.
// The caller can take its own lock first, held until the put or remove returns.
using CurrentFile = std::function<Result<std::optional<FileInfo>>()>;
using NameCheck = std::function<Status(const CurrentFile& read_current)>;

class Session;

// A file opened for reading. Closing happens on destruction; the Session must outlive it.
class OpenFile {
 public:
  OpenFile(OpenFile&& other) noexcept;
  OpenFile& operator=(OpenFile&&) = delete;
  OpenFile(const OpenFile&) = delete;
  ~OpenFile();

  const FileInfo& info() const { return info_; }
  // Reads up to buffer.size() bytes at offset; 0 at end of file. May return fewer bytes.
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buffer);
  // Closes now and reports the result (the destructor ignores it).
  Status close();

 private:
  friend class Session;
  OpenFile(Session* session, nfsfh* handle, std::string path, FileInfo info);
  Session* session_;
  nfsfh* handle_;
  std::string path_;
  FileInfo info_;
};

class Session {
 public:
  // Creates the context and mounts server:/export_path. Fails with kTimeout, kUnavailable...
  static Result<std::unique_ptr<Session>> connect(const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const SessionOptions& options() const { return options_; }
  // True once a call has left the context unusable: destroy it and connect a new one. Either
  // the connection or the client's state on the server failed (dead connection, expired lease,
  // timeout), which its sibling sessions most likely met too, or the session alone is spent: an
  // OPEN the server refused left libnfs's open sequence behind (see fail_open), and the server
  // is fine.
  bool broken() const { return broken_ || spent_; }
  bool spent() const { return spent_ && !broken_; }
  // Counts successful NFSv4 OPENs, each of which renews the client's lease on the server.
  std::uint64_t lease_renewals() const { return renewals_; }

  // Paths are relative to the export ("a/b.txt"; a leading slash is allowed; "" is the root).
  Result<FileInfo> stat(std::string_view path);
  Result<OpenFile> open_read(std::string_view path);
  // Atomic: exclusive temp file beside the target, chunked writes, COMMIT, close, then rename
  // over the target (kReplace) or hard link to it (kCreateOnly: kAlreadyExists if present).
  // Missing parent directories are created. The temp file is removed on any failure the
  // context survives. A failure is retryable only if the real name cannot have changed.
  // `check` (kReplace only): see NameCheck.
  Result<PutResult> put(std::string_view path, const BodyReader& body, PutMode mode,
                        const NameCheck* check = nullptr);
  Result<PutResult> put(std::string_view path, std::string_view data, PutMode mode);
  // Creates a file of that name, removes the name, writes `data` and reads it back through the
  // still open file: the health probe (OPEN, REMOVE, WRITE, READ, CLOSE), whose name is
  // visible for one round trip. A file left by an earlier probe is replaced. kDataLoss if
  // other bytes come back.
  Status write_read_probe(std::string_view path, std::string_view data);
  // `check`: see NameCheck.
  Status remove(std::string_view path, const NameCheck* check = nullptr);
  // mkdir -p; existing directories are fine.
  Status make_directories(std::string_view path);
  // Every entry but "." and "..", sorted by name.
  Result<std::vector<DirEntry>> list(std::string_view dir);
  // kInvalidArgument if a directory on the way to `path` (and, with include_last, `path`
  // itself) is a symbolic link: libnfs follows links in the middle of a path even with
  // O_NOFOLLOW. Stops quietly at the first component that does not exist or is not a directory,
  // leaving that answer to the operation itself. One LOOKUP round trip per component.
  Status refuse_symlinks(std::string_view path, bool include_last);
  // Renews the lease: an OPEN and CLOSE of the lease probe (efsas::kLeaseProbeName at the
  // export's root, an empty file made by the first keep-alive that finds it missing).
  Status keep_alive();
  // The temporary files (absolute paths) that failed puts created and could not remove: the
  // session broke first, or the REMOVE failed. Their names are this session's own, so another
  // session may remove them at any time; the list is emptied by this call.
  std::vector<std::string> take_left_behind();
  // Removes such files, stopping early if the session breaks; `removed` counts those removed.
  // Returns the names to try again later (not tried, or refused for a reason that may pass). A
  // file already gone is forgotten, and so is one refused for good: the temporary-file sweep
  // has it then.
  std::vector<std::string> remove_left_behind(std::vector<std::string> names, std::size_t& removed);

 private:
  friend class OpenFile;
  explicit Session(SessionOptions options);
  // Every libnfs call that talks to the server is made through its asynchronous form, with its
  // state owned by the session (see Call): libnfs 4.0's synchronous forms return with their
  // request still queued when the connection dies, its callback pointing into their stack
  // frame, and destroying the context then runs that callback on whatever the stack holds.
  struct Call;
  static void on_reply(int status, nfs_context* nfs, void* data, void* private_data);
  enum class Bound { kWholeCall, kSilence };
  // Starts a call (`start` queues it with on_reply and the Call it is given, returning libnfs's
  // code) and services the context until its callback has run, for at most `limit` in all
  // (kWholeCall) or until the server has sent nothing for `limit` (kSilence). Returns
  // libnfs's status: >= 0 on success; -errno on failure, with the reason in last_error_. A
  // stat's attributes go to `stat`, a READ's bytes to `read_into`, an open's nfsfh or an
  // opendir's nfsdir to `object`. A call that cannot finish (dead connection, no answer) breaks
  // the session, and its Call is kept until the context is destroyed, which runs its callback.
  int call(const std::function<int(void*)>& start, std::chrono::milliseconds limit, Bound bound,
           nfs_stat_64* stat = nullptr, std::span<char> read_into = {}, void** object = nullptr);
  // The calls below are shaped as libnfs's synchronous ones. Some take several requests (a
  // listing one per page of the directory, a rename two); libnfs fails a request unanswered for
  // options_.timeout, and call_limit() is the backstop: twice that (at most 1 s more) without a
  // word from the server.
  std::chrono::milliseconds call_limit() const;
  // Waits up to `wait` for the connection, then services the context once. A failed poll or a
  // dead connection (kLost) breaks the session; libnfs's error text may then be left from an
  // earlier call, naming its NFSv4 status, and is not to be used.
  enum class Serviced { kQuiet, kHeard, kPollFailed, kLost };
  Serviced service_once(std::chrono::milliseconds wait);
  int mount();
  int lstat(const std::string& path, nfs_stat_64& st);
  int fstat(nfsfh* handle, nfs_stat_64& st);
  int open(const std::string& path, int flags, int mode, nfsfh*& handle);
  int close_file(nfsfh* handle);
  int pread(nfsfh* handle, std::uint64_t offset, std::span<char> buffer);
  int fsync(nfsfh* handle);
  int unlink(const std::string& path);
  int mkdir(const std::string& path, int mode);
  int rename(const std::string& from, const std::string& to);
  int link(const std::string& from, const std::string& to);
  int opendir(const std::string& path, nfsdir*& handle);
  int utimes_now(const std::string& path);
  // The regular file under `full`, nullopt when there is none; a directory or link is an error.
  Result<std::optional<FileInfo>> current_file(const std::string& full, std::string_view operation);
  struct WriteWave;
  Error fail(int rc, std::string_view operation, std::string_view path);
  // fail() for an OPEN (open, create), which also gives the session up when the refusal left
  // libnfs's open sequence behind the server's (see the definition).
  Error fail_open(int rc, std::string_view operation, std::string_view path, bool exclusive_create);
  Error fail_with(int rc, std::string_view message, std::string_view operation,
                  std::string_view path);
  Status write_all(nfsfh* handle, std::uint64_t offset, std::string_view data,
                   std::string_view path);
  std::string temp_name_for(std::string_view path);

  SessionOptions options_;
  nfs_context* nfs_ = nullptr;
  bool broken_ = false;
  bool spent_ = false;
  std::string last_error_;  // the reason of the last failed call
  std::vector<std::string> left_behind_;
  std::uint64_t renewals_ = 0;
  std::uint64_t temp_counter_ = 0;
  // State of the pipelined WRITEs in flight; lives as long as the context, whose callbacks
  // point at it.
  std::unique_ptr<WriteWave> wave_;
  // Calls that never finished: their callbacks still point at them.
  std::vector<std::unique_ptr<Call>> unfinished_;
};

}  // namespace efsas::nfs
