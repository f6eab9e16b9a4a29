// Session over one libnfs 4.0 NFSv4 context. Every workaround for libnfs's NFSv4 client lives
// here; see session.h and docs/nfs-backend.md for the problems each one answers.
#include "efsas/nfs/session.h"

// clang-format off
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw-nfs4.h>  // NFS_V4
// clang-format on

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "efsas/nfs/errors.h"
#include "efsas/path.h"

namespace efsas::nfs {

namespace {

// libnfs wants absolute paths inside the mount.
std::string absolute(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::string out = "/";
  out += path;
  return out;
}

std::string parent_of(const std::string& absolute_path) {
  const auto slash = absolute_path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return absolute_path.substr(0, slash);
}

SystemTime to_time(std::uint64_t seconds, std::uint64_t nanoseconds) {
  // NFSv4 times are signed; libnfs hands them over as unsigned.
  return system_time_at(static_cast<std::int64_t>(seconds), static_cast<std::int64_t>(nanoseconds));
}

FileInfo to_info(const nfs_stat_64& st) {
  FileInfo info;
  info.size = st.nfs_size;
  info.mtime = to_time(st.nfs_mtime, st.nfs_mtime_nsec);
  info.inode = st.nfs_ino;
  info.mode = static_cast<std::uint32_t>(st.nfs_mode);
  info.is_directory = S_ISDIR(static_cast<mode_t>(st.nfs_mode));
  return info;
}

std::string error_text(nfs_context* nfs) {
  const char* text = nfs_get_error(nfs);
  return text != nullptr ? text : "";
}

// Only characters any file system takes in a name. Client names (efsas-<instance>-<mount target
// id>-<session>) stay under 80 characters, so the cut never makes two of them alike.
std::string sanitize(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 128)) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
    out += keep ? c : '_';
  }
  return out;
}

Error symlink_error(std::string_view operation, const std::string& path) {
  return make_error(ErrorCode::kInvalidArgument,
                    "nfs " + std::string(operation) + " " + path + ": is a symbolic link");
}

// The answer of an operation on a file when `path` (of type `mode`) is a symbolic link or a
// directory instead.
Status refuse_link_or_directory(mode_t mode, std::string_view operation, const std::string& path) {
  if (S_ISLNK(mode)) return symlink_error(operation, path);
  if (S_ISDIR(mode)) {
    return make_error(ErrorCode::kConflict,
                      "nfs " + std::string(operation) + " " + path + ": is a directory");
  }
  return {};
}

const std::string kLeaseProbe = "/" + std::string(kLeaseProbeName);

}  // namespace

// OpenFile ----------------------------------------------------------------------------------

OpenFile::OpenFile(Session* session, nfsfh* handle, std::string path, FileInfo info)
    : session_(session), handle_(handle), path_(std::move(path)), info_(info) {}

OpenFile::OpenFile(OpenFile&& other) noexcept
    : session_(other.session_),
      handle_(std::exchange(other.handle_, nullptr)),
      path_(std::move(other.path_)),
      info_(other.info_) {}

OpenFile::~OpenFile() { (void)close(); }

Result<std::size_t> OpenFile::read_at(std::uint64_t offset, std::span<char> buffer) {
  if (handle_ == nullptr) return make_error(ErrorCode::kInternal, "read on a closed file");
  if (session_->broken()) {
    return make_error(ErrorCode::kUnavailable, "nfs read " + path_ + ": session broken", true);
  }
  const std::size_t want = std::min(buffer.size(), kMaxReadChunk);
  const int rc = session_->pread(handle_, offset, buffer.first(want));
  if (rc < 0) return session_->fail(rc, "read", path_);
  return static_cast<std::size_t>(rc);
}

Status OpenFile::close() {
  if (handle_ == nullptr) return {};
  nfsfh* handle = std::exchange(handle_, nullptr);
  if (session_->broken()) return {};  // the server forgot this open along with the context
  const int rc = session_->close_file(handle);
  if (rc < 0) return session_->fail(rc, "close", path_);
  return {};
}

// Session -----------------------------------------------------------------------------------

Session::Session(SessionOptions options) : options_(std::move(options)) {}

// Destroying the context cancels the calls still queued and runs their callbacks, whose state
// (unfinished_, wave_) goes only after it.
Session::~Session() {
  if (nfs_ != nullptr) nfs_destroy_context(nfs_);
}

Result<std::unique_ptr<Session>> Session::connect(const SessionOptions& options) {
  if (options.server.empty()) return make_error(ErrorCode::kInvalidArgument, "nfs: no server");
  if (options.client_name.empty()) {
    // libnfs's default name is derived from the time in seconds, so two contexts made in the
    // same second would share a client id and take over each other's state.
    return make_error(ErrorCode::kInvalidArgument, "nfs: a unique client name is required");
  }
  std::unique_ptr<Session> session(new Session(options));
  session->nfs_ = nfs_init_context();
  if (session->nfs_ == nullptr) {
    return make_error(ErrorCode::kResourceExhausted, "nfs: cannot create a libnfs context", true);
  }
  nfs_context* nfs = session->nfs_;
  if (nfs_set_version(nfs, NFS_V4) != 0) {
    return make_error(ErrorCode::kInternal, "nfs: libnfs refuses NFSv4");
  }
  nfs4_set_client_name(nfs, options.client_name.c_str());
  // Without a timeout libnfs waits forever for a server that has stopped answering.
  nfs_set_timeout(nfs, static_cast<int>(std::max<std::int64_t>(1, options.timeout.count())));
  // libnfs keeps the listing of every closed directory (up to 129 per context) for NFSv3 to
  // read again; over NFSv4 it never does, so the cache only grows until the context goes.
  nfs_set_dircache(nfs, 0);
  // Never reconnect a context: writes go out UNSTABLE and libnfs does not check the write
  // verifier, so a connection silently made anew after a server restart could COMMIT and
  // publish a file whose bytes the server lost. A dead connection breaks the session instead
  // (libnfs 4.0 does not reconnect NFSv4 anyway; this keeps it so if that changes).
  nfs_set_autoreconnect(nfs, 0);
  if (options.uid) nfs_set_uid(nfs, *options.uid);
  if (options.gid) nfs_set_gid(nfs, *options.gid);
  const int rc = session->mount();
  if (rc != 0) {
    Failure failure = classify_failure(rc, session->last_error_, "mount", options.server);
    // Whatever the mount said, this target cannot be used now.
    if (failure.error.code == ErrorCode::kIo || failure.error.code == ErrorCode::kInvalidArgument) {
      failure.error.code = ErrorCode::kUnavailable;
      failure.error.retryable = true;
    }
    return failure.error;
  }
  return session;
}

// One asynchronous call in flight, pointed at by its callback.
struct Session::Call {
  bool done = false;
  int status = 0;
  std::string message;
  nfs_stat_64* stat = nullptr;
  std::span<char> read_into;
  void* object = nullptr;
};

// Runs inside nfs_service (or nfs_destroy_context), on the thread that called it.
void Session::on_reply(int status, nfs_context*, void* data, void* private_data) {
  Call& call = *static_cast<Call*>(private_data);
  call.done = true;
  call.status = status;
  if (status < 0) {
    call.message = data != nullptr ? static_cast<const char*>(data) : "failed";
    return;
  }
  if (data == nullptr) return;
  if (call.stat != nullptr) {
    std::memcpy(call.stat, data, sizeof(nfs_stat_64));
  } else if (!call.read_into.empty()) {
    // A server may answer more than was asked; only what was asked is taken.
    const std::size_t n = std::min(static_cast<std::size_t>(status), call.read_into.size());
    std::memcpy(call.read_into.data(), data, n);
    call.status = static_cast<int>(n);
  } else {
    call.object = data;
  }
}

int Session::call(const std::function<int(void*)>& start, std::chrono::milliseconds limit,
                  Bound bound, nfs_stat_64* stat, std::span<char> read_into, void** object) {
  if (broken()) {
    // Given up already: against a hung server each call would wait out its limit again.
    last_error_ = "session broken";
    return -EIO;
  }
  auto pending = std::make_unique<Call>();
  pending->stat = stat;
  pending->read_into = read_into;
  if (start(pending.get()) != 0) {
    // Not queued: the callback will not run.
    last_error_ = error_text(nfs_);
    return -EIO;
  }
  auto deadline = std::chrono::steady_clock::now() + limit;
  int lost = 0;
  while (!pending->done) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      lost = -ETIMEDOUT;
      last_error_ = "timed out: nothing heard within " + std::to_string(limit.count()) + " ms";
      break;
    }
    const Serviced serviced = service_once(std::min(std::chrono::milliseconds(100), left));
    if (serviced == Serviced::kPollFailed) {
      lost = -EIO;
      last_error_ = "poll failed";
      break;
    }
    if (serviced == Serviced::kLost) {
      // Whether or not this call's callback ran first.
      if (pending->done) break;
      lost = -EIO;
      last_error_ = "connection lost";
      break;
    }
    // A call of many requests (a listing reads a large directory page by page) takes as long
    // as it takes while the server answers; libnfs bounds each request.
    if (bound == Bound::kSilence && serviced == Serviced::kHeard) {
      deadline = std::chrono::steady_clock::now() + limit;
    }
  }
  if (!pending->done) {
    broken_ = true;
    pending->stat = nullptr;
    pending->read_into = {};
    unfinished_.push_back(std::move(pending));
    return lost;
  }
  if (pending->status < 0) {
    last_error_ = std::move(pending->message);
  } else if (object != nullptr) {
    *object = pending->object;
  }
  return pending->status;
}

Session::Serviced Session::service_once(std::chrono::milliseconds wait) {
  pollfd pfd{nfs_get_fd(nfs_), static_cast<short>(nfs_which_events(nfs_)), 0};
  const int ready = ::poll(&pfd, 1, static_cast<int>(wait.count()));
  if (ready < 0 && errno != EINTR) {
    broken_ = true;
    return Serviced::kPollFailed;
  }
  // Serviced on every wake-up, even with nothing to read: that is where libnfs fails the
  // requests older than nfs_set_timeout.
  if (nfs_service(nfs_, ready > 0 ? pfd.revents : 0) < 0) {
    broken_ = true;
    return Serviced::kLost;
  }
  return ready > 0 && (pfd.revents & POLLIN) != 0 ? Serviced::kHeard : Serviced::kQuiet;
}

std::chrono::milliseconds Session::call_limit() const {
  // Long enough for libnfs to report the timeout first.
  return options_.timeout + std::min(options_.timeout, std::chrono::milliseconds(1000));
}

// libnfs times out RPCs, not the TCP connect before the first one: against an address that
// drops SYNs (a mount target deleted, in a failed AZ, or behind a security group) nfs_mount
// waits for the kernel's SYN retries, about two minutes. The mount is held to the session's
// timeout instead.
int Session::mount() {
  return call(
      [&](void* pending) {
        return nfs_mount_async(nfs_, options_.server.c_str(), options_.export_path.c_str(),
                               &Session::on_reply, pending);
      },
      options_.timeout, Bound::kWholeCall);
}

int Session::lstat(const std::string& path, nfs_stat_64& st) {
  return call(
      [&](void* pending) {
        return nfs_lstat64_async(nfs_, path.c_str(), &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence, &st);
}

int Session::fstat(nfsfh* handle, nfs_stat_64& st) {
  return call(
      [&](void* pending) { return nfs_fstat64_async(nfs_, handle, &Session::on_reply, pending); },
      call_limit(), Bound::kSilence, &st);
}

int Session::open(const std::string& path, int flags, int mode, nfsfh*& handle) {
  void* object = nullptr;
  const int rc = call(
      [&](void* pending) {
        return nfs_open2_async(nfs_, path.c_str(), flags, mode, &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence, nullptr, {}, &object);
  if (rc == 0) handle = static_cast<nfsfh*>(object);
  return rc;
}

int Session::close_file(nfsfh* handle) {
  return call(
      [&](void* pending) { return nfs_close_async(nfs_, handle, &Session::on_reply, pending); },
      call_limit(), Bound::kSilence);
}

int Session::pread(nfsfh* handle, std::uint64_t offset, std::span<char> buffer) {
  if (buffer.empty()) return 0;
  return call(
      [&](void* pending) {
        return nfs_pread_async(nfs_, handle, offset, buffer.size(), &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence, nullptr, buffer);
}

int Session::fsync(nfsfh* handle) {
  return call(
      [&](void* pending) { return nfs_fsync_async(nfs_, handle, &Session::on_reply, pending); },
      call_limit(), Bound::kSilence);
}

int Session::unlink(const std::string& path) {
  return call(
      [&](void* pending) {
        return nfs_unlink_async(nfs_, path.c_str(), &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence);
}

int Session::mkdir(const std::string& path, int mode) {
  return call(
      [&](void* pending) {
        return nfs_mkdir2_async(nfs_, path.c_str(), mode, &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence);
}

int Session::rename(const std::string& from, const std::string& to) {
  return call(
      [&](void* pending) {
        return nfs_rename_async(nfs_, from.c_str(), to.c_str(), &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence);
}

int Session::link(const std::string& from, const std::string& to) {
  return call(
      [&](void* pending) {
        return nfs_link_async(nfs_, from.c_str(), to.c_str(), &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence);
}

int Session::opendir(const std::string& path, nfsdir*& handle) {
  void* object = nullptr;
  const int rc = call(
      [&](void* pending) {
        return nfs_opendir_async(nfs_, path.c_str(), &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence, nullptr, {}, &object);
  if (rc == 0) handle = static_cast<nfsdir*>(object);
  return rc;
}

// Sets the access and modification times to now.
int Session::utimes_now(const std::string& path) {
  timeval now[2]{};
  ::gettimeofday(&now[0], nullptr);
  now[1] = now[0];
  return call(
      [&](void* pending) {
        return nfs_utimes_async(nfs_, path.c_str(), now, &Session::on_reply, pending);
      },
      call_limit(), Bound::kSilence);
}

Error Session::fail(int rc, std::string_view operation, std::string_view path) {
  return fail_with(rc, last_error_, operation, path);
}

// libnfs 4.0 moves its NFSv4 open sequence (the open-owner's seqid) on only when an OPEN
// succeeds, while a server that follows RFC 7530 moves it on for most refusals of the OPEN too.
// After such a refusal libnfs's next OPEN reuses a seqid the server has seen: the server answers
// it from its replay cache (the earlier refusal, whatever file is asked for) or with
// NFS4ERR_BAD_SEQID, and the session could open no file again. So it is given up, unless the
// refusal can only have come from the LOOKUPs before the OPEN, which the server then never
// reached: NOENT for an exclusive create (a create never finds its own name missing).
Error Session::fail_open(int rc, std::string_view operation, std::string_view path,
                         bool exclusive_create) {
  const std::string status(nfs4_status_in(last_error_));
  Error error = fail(rc, operation, path);
  if (refusal_moves_open_sequence(status) && !(exclusive_create && status == "NFS4ERR_NOENT")) {
    spent_ = true;
  }
  return error;
}

Error Session::fail_with(int rc, std::string_view message, std::string_view operation,
                         std::string_view path) {
  Failure failure = classify_failure(rc, message, operation, path);
  // A timed-out OPEN or CLOSE may still reach the server and move the open sequence on; the
  // next open would then fail with NFS4ERR_BAD_SEQID. Starting afresh is cheap and certain.
  if (failure.fault != Fault::kNone) broken_ = true;
  failure.error.message += " (server " + options_.server + ")";
  return failure.error;
}

Result<FileInfo> Session::stat(std::string_view path) {
  const std::string full = absolute(path);
  nfs_stat_64 st{};
  // LSTAT: a symbolic link is reported, never followed (libnfs still follows links in the
  // middle of a path, but the server keeps their resolution inside the export).
  const int rc = lstat(full, st);
  if (rc < 0) return fail(rc, "stat", full);
  if (S_ISLNK(static_cast<mode_t>(st.nfs_mode))) return symlink_error("stat", full);
  return to_info(st);
}

Result<OpenFile> Session::open_read(std::string_view path) {
  const std::string full = absolute(path);
  // Looked up first: a refused lookup costs nothing, a refused OPEN the session (fail_open). A
  // name that is missing (a GET of a file that does not exist) is the usual refusal.
  nfs_stat_64 found{};
  int rc = lstat(full, found);
  if (rc < 0) return fail(rc, "open", full);
  const auto mode = static_cast<mode_t>(found.nfs_mode);
  if (Status kind = refuse_link_or_directory(mode, "open", full); !kind.ok()) return kind.error();
  if (!S_ISREG(mode)) {
    return make_error(ErrorCode::kConflict, "nfs open " + full + ": not a regular file");
  }
  nfsfh* handle = nullptr;
  rc = open(full, O_RDONLY | O_NOFOLLOW, 0, handle);
  if (rc < 0) return fail_open(rc, "open", full, false);
  ++renewals_;
  OpenFile file(this, handle, full, FileInfo{});
  nfs_stat_64 st{};
  rc = fstat(handle, st);
  if (rc < 0) return fail(rc, "fstat", full);
  file.info_ = to_info(st);
  return file;
}

std::string Session::temp_name_for(std::string_view path) {
  const std::string full = absolute(path);
  std::string dir = parent_of(full);
  if (dir != "/") dir += "/";
  return dir + ".efsas-put-" + sanitize(options_.client_name) + "-" +
         std::to_string(++temp_counter_);
}

// The WRITEs of one write_all call: counted down by their callbacks.
struct Session::WriteWave {
  int pending = 0;
  int error = 0;
  std::string message;
  bool short_write = false;
  // One WRITE in flight, owned by its callback.
  struct Request {
    WriteWave* wave;
    std::size_t count;
  };
};

Status Session::write_all(nfsfh* handle, std::uint64_t offset, std::string_view data,
                          std::string_view path) {
  if (!wave_) wave_ = std::make_unique<WriteWave>();
  WriteWave& wave = *wave_;
  wave = WriteWave{};
  // Callbacks run inside nfs_service, on this thread.
  const auto on_written = [](int status, nfs_context*, void* result, void* private_data) {
    std::unique_ptr<WriteWave::Request> request(static_cast<WriteWave::Request*>(private_data));
    WriteWave& w = *request->wave;
    --w.pending;
    if (status < 0 && w.error == 0) {
      w.error = status;
      w.message = result != nullptr ? static_cast<const char*>(result) : "write failed";
    } else if (status >= 0 && static_cast<std::size_t>(status) != request->count) {
      w.short_write = true;
    }
  };
  std::size_t next = 0;
  while (true) {
    while (wave.error == 0 && !wave.short_write && wave.pending < kWritesInFlight &&
           next < data.size()) {
      const std::size_t piece = std::min(kMaxWriteChunk, data.size() - next);
      auto request = std::make_unique<WriteWave::Request>(WriteWave::Request{&wave, piece});
      const int rc = nfs_pwrite_async(nfs_, handle, offset + next, piece, data.data() + next,
                                      on_written, request.get());
      if (rc != 0) {
        wave.error = rc < 0 ? rc : -EIO;
        wave.message = error_text(nfs_);
        break;
      }
      (void)request.release();  // the callback owns it now
      ++wave.pending;
      next += piece;
    }
    if (wave.pending == 0) break;
    const Serviced serviced = service_once(std::chrono::milliseconds(100));
    if (serviced == Serviced::kPollFailed) {
      return make_error(ErrorCode::kIo, "nfs write " + std::string(path) + ": poll failed", true);
    }
    // The pending callbacks may never run, and the context with its wave must not be used again.
    if (serviced == Serviced::kLost) return fail_with(-EIO, "connection lost", "write", path);
  }
  if (wave.error != 0) return fail_with(wave.error, wave.message, "write", path);
  if (wave.short_write) {
    return make_error(ErrorCode::kIo, "nfs write " + std::string(path) + ": short write", true);
  }
  return {};
}

Result<PutResult> Session::put(std::string_view path, std::string_view data, PutMode mode) {
  std::size_t position = 0;
  return put(
      path,
      [&](std::span<char> buffer) -> Result<std::size_t> {
        const std::size_t n = std::min(buffer.size(), data.size() - position);
        std::copy_n(data.data() + position, n, buffer.data());
        position += n;
        return n;
      },
      mode);
}

Result<std::optional<FileInfo>> Session::current_file(const std::string& full,
                                                      std::string_view operation) {
  nfs_stat_64 st{};
  const int rc = lstat(full, st);
  if (rc < 0) {
    Error error = fail(rc, "stat", full);
    if (error.code == ErrorCode::kNotFound) return std::optional<FileInfo>{};
    return error;
  }
  const auto mode = static_cast<mode_t>(st.nfs_mode);
  if (Status kind = refuse_link_or_directory(mode, operation, full); !kind.ok()) {
    return kind.error();
  }
  return std::optional<FileInfo>(to_info(st));
}

Result<PutResult> Session::put(std::string_view path, const BodyReader& body, PutMode mode,
                               const NameCheck* check) {
  const std::string target = absolute(path);
  if (target == "/") return make_error(ErrorCode::kInvalidArgument, "nfs put: empty path");
  std::string temp = temp_name_for(path);
  nfsfh* handle = nullptr;
  // libnfs 4.0 turns O_CREAT into an exclusive create anyway; ask for it so that the intent
  // is plain, and name the temp file so that no one else can hold it.
  // A create that timed out or lost its connection may have made the file: its name is kept
  // for removal later (take_left_behind), as for a put that failed after its create.
  auto create_failed = [&](int code) {
    Error error = fail_open(code, "create", temp, true);
    if (broken_ && error.remote_code.empty() &&
        (error.code == ErrorCode::kTimeout || error.code == ErrorCode::kUnavailable)) {
      left_behind_.push_back(temp);
    }
    return error;
  };
  int rc = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0644, handle);
  if (rc < 0) {
    Error error = create_failed(rc);
    if (error.code == ErrorCode::kNotFound && !broken()) {
      if (Status made = make_directories(parent_of(target)); !made.ok()) return made.error();
      rc = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0644, handle);
      if (rc < 0) return create_failed(rc);
    } else {
      return error;
    }
  }
  ++renewals_;

  // From here on the temp file exists: remove it on any failure, now if the context survives,
  // otherwise later through another session (take_left_behind).
  auto abandon = [&](Error error) -> Result<PutResult> {
    if (handle != nullptr && !broken()) close_file(handle);
    if (broken() || unlink(temp) < 0) left_behind_.push_back(temp);
    return error;
  };
  std::vector<char> buffer(256 * 1024);
  std::uint64_t offset = 0;
  while (true) {
    Result<std::size_t> n = body(buffer);
    if (!n.ok()) return abandon(n.error());
    if (*n == 0) break;
    const std::string_view piece(buffer.data(), *n);
    if (Status written = write_all(handle, offset, piece, temp); !written.ok()) {
      return abandon(written.error());
    }
    offset += *n;
  }
  // WRITEs may be unstable on the server: COMMIT before the name becomes visible.
  if (rc = fsync(handle); rc < 0) return abandon(fail(rc, "commit", temp));
  nfs_stat_64 st{};
  if (rc = fstat(handle, st); rc < 0) return abandon(fail(rc, "fstat", temp));
  rc = close_file(handle);
  handle = nullptr;
  if (rc < 0) return abandon(fail(rc, "close", temp));
  if (offset == 0) {
    // The create was exclusive (libnfs 4.0 makes every O_CREAT one), and an NFSv4 server keeps
    // the create verifier in the new file's atime and mtime until something sets them: with no
    // WRITE, an empty file would keep a meaningless modification time. Set both to now.
    if (rc = utimes_now(temp); rc < 0) {
      return abandon(fail(rc, "utimes", temp));
    }
    if (rc = lstat(temp, st); rc < 0) return abandon(fail(rc, "stat", temp));
  }

  PutResult result;
  result.info = to_info(st);
  if (mode == PutMode::kCreateOnly) {
    // LINK fails atomically when the name exists, which RENAME never does.
    if (rc = link(temp, target); rc < 0) {
      return abandon(final_step_error(fail(rc, "link", target)));
    }
    if (unlink(temp) < 0) left_behind_.push_back(temp);
    return result;
  }
  // What is under the name now: read by the check when there is one, just before the RENAME.
  const CurrentFile read_current = [&]() -> Result<std::optional<FileInfo>> {
    auto current = current_file(target, "put");
    if (current.ok()) result.replaced = current->has_value();
    return current;
  };
  if (check != nullptr) {
    if (Status ok = (*check)(read_current); !ok.ok()) return abandon(ok.error());
  } else if (auto current = read_current(); !current.ok()) {
    return abandon(current.error());
  }
  if (rc = rename(temp, target); rc < 0) {
    return abandon(final_step_error(fail(rc, "rename", target)));
  }
  return result;
}

Status Session::write_read_probe(std::string_view path, std::string_view data) {
  const std::string full = absolute(path);
  if (data.size() > kMaxWriteChunk) fail_invariant("probe data larger than one WRITE");
  nfsfh* handle = nullptr;
  // A probe file left by a probe that never finished is removed first: creating over it would
  // be refused, and a refused OPEN costs the session (fail_open).
  nfs_stat_64 left{};
  if (lstat(full, left) == 0) {
    if (int rc = unlink(full); rc < 0) return fail(rc, "unlink", full);
  }
  int rc = open(full, O_RDWR | O_CREAT | O_EXCL, 0644, handle);
  if (rc < 0) return fail_open(rc, "create", full, true);
  ++renewals_;
  // The name goes at once: the server keeps the open file, and the probe's name is visible
  // for one round trip instead of five.
  Status status;
  std::string back(data.size() + 1, '\0');
  if ((rc = unlink(full)) < 0) {
    status = fail(rc, "unlink", full);
  } else if (Status written = write_all(handle, 0, data, full); !written.ok()) {
    status = written;
  } else if ((rc = pread(handle, 0, back)) < 0) {
    status = fail(rc, "read", full);
  } else if (std::string_view(back.data(), static_cast<std::size_t>(rc)) != data) {
    status = make_error(ErrorCode::kDataLoss, "nfs probe " + full + ": read back other bytes");
  }
  if (broken()) return status;
  if ((rc = close_file(handle)) < 0 && status.ok()) status = fail(rc, "close", full);
  return status;
}

Status Session::remove(std::string_view path, const NameCheck* check) {
  const std::string full = absolute(path);
  // What is under the name: read once, by the check when there is one, just before the REMOVE.
  const CurrentFile read_current = [&] { return current_file(full, "remove"); };
  if (check != nullptr) {
    if (Status ok = (*check)(read_current); !ok.ok()) return ok;
  } else if (auto current = read_current(); !current.ok()) {
    return current.error();
  }
  const int rc = unlink(full);
  // As for a put's final step: an unanswered REMOVE may have happened, and a retry could remove
  // a file created since.
  if (rc < 0) return final_step_error(fail(rc, "unlink", full));
  return {};
}

Status Session::make_directories(std::string_view path) {
  const std::string full = absolute(path);
  std::size_t pos = 1;
  while (pos <= full.size()) {
    const auto next = std::min(full.find('/', pos), full.size());
    const std::string prefix = full.substr(0, next);
    pos = next + 1;
    if (prefix == "/") continue;
    const int rc = mkdir(prefix, 0755);
    if (rc < 0) {
      Error error = fail(rc, "mkdir", prefix);
      if (error.code != ErrorCode::kAlreadyExists) return error;
    }
  }
  return {};
}

Result<std::vector<DirEntry>> Session::list(std::string_view dir) {
  const std::string full = absolute(dir);
  nfsdir* handle = nullptr;
  const int rc = opendir(full, handle);
  if (rc < 0) return fail(rc, "opendir", full);
  std::vector<DirEntry> entries;
  while (nfsdirent* entry = nfs_readdir(nfs_, handle)) {
    const std::string_view name = entry->name;
    if (name == "." || name == "..") continue;
    DirEntry out;
    out.name = std::string(name);
    out.is_directory = S_ISDIR(static_cast<mode_t>(entry->mode));
    out.is_regular = S_ISREG(static_cast<mode_t>(entry->mode));
    out.size = entry->size;
    out.mtime = to_time(static_cast<std::uint64_t>(entry->mtime.tv_sec), entry->mtime_nsec);
    out.ctime = to_time(static_cast<std::uint64_t>(entry->ctime.tv_sec), entry->ctime_nsec);
    entries.push_back(std::move(out));
  }
  nfs_closedir(nfs_, handle);
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

Status Session::refuse_symlinks(std::string_view path, bool include_last) {
  const std::string full = absolute(path);
  std::size_t pos = 1;
  while (pos < full.size()) {
    const auto slash = full.find('/', pos);
    if (slash == std::string::npos && !include_last) break;
    const std::string prefix = full.substr(0, std::min(slash, full.size()));
    pos = slash == std::string::npos ? full.size() : slash + 1;
    nfs_stat_64 st{};
    const int rc = lstat(prefix, st);
    if (rc < 0) {
      Error error = fail(rc, "lookup", prefix);
      if (error.code == ErrorCode::kNotFound || error.code == ErrorCode::kConflict) return {};
      return error;
    }
    const auto mode = static_cast<mode_t>(st.nfs_mode);
    if (S_ISLNK(mode)) return symlink_error("lookup", prefix);
    if (!S_ISDIR(mode)) return {};
  }
  return {};
}

std::vector<std::string> Session::take_left_behind() { return std::exchange(left_behind_, {}); }

std::vector<std::string> Session::remove_left_behind(std::vector<std::string> names,
                                                     std::size_t& removed) {
  std::vector<std::string> later;
  for (auto& name : names) {
    if (broken()) {
      later.push_back(std::move(name));
      continue;
    }
    const int rc = unlink(name);
    if (rc == 0) {
      ++removed;
    } else if (const Error error = fail(rc, "unlink", name);
               error.code != ErrorCode::kNotFound && error.retryable) {
      later.push_back(std::move(name));
    }
  }
  return later;
}

// An OPEN renews the client's lease (libnfs has no RENEW). It must succeed (see fail_open), so it
// opens a file that exists: the reserved lease probe at the export's root, made by the first
// session that finds it missing.
Status Session::keep_alive() {
  nfs_stat_64 found{};
  nfsfh* handle = nullptr;
  int rc = lstat(kLeaseProbe, found);
  bool create = false;
  if (rc < 0) {
    Error error = fail(rc, "keep-alive lookup", kLeaseProbe);
    if (error.code != ErrorCode::kNotFound) return error;
    create = true;
  } else if ((static_cast<mode_t>(found.nfs_mode) & S_IFMT) != S_IFREG) {
    return make_error(ErrorCode::kConflict,
                      "nfs keep-alive " + kLeaseProbe + ": not a regular file; remove it");
  }
  rc = create ? open(kLeaseProbe, O_WRONLY | O_CREAT | O_EXCL, 0644, handle)
              : open(kLeaseProbe, O_RDONLY | O_NOFOLLOW, 0, handle);
  if (rc < 0) return fail_open(rc, "keep-alive open", kLeaseProbe, create);
  ++renewals_;
  if (const int closed = close_file(handle); closed < 0) {
    return fail(closed, "close", kLeaseProbe);
  }
  return {};
}

}  // namespace efsas::nfs
