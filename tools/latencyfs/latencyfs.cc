// latencyfs: mounts a directory again through FUSE, sleeping a fixed time in every lookup,
// getattr, opendir and readdir request, as a network file system's round trip would.
// Usage: latencyfs BACKING_DIR MOUNTPOINT [--latency-us=N] [--open-latency-us=N]
//        [--unknown-dtype] [FUSE options]
// --open-latency-us adds to every open and opendir alone, as a server that answers lookups but
// hangs on opening would (mounting and stat stay quick).
// Read-only. Each request is served on its own libfuse thread (-o max_threads=N), so the latency
// only adds up for clients that issue their requests one at a time.
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <fcntl.h>
#include <fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

struct Settings {
  int backing_fd = -1;
  long latency_us = 800;
  long open_latency_us = 0;
  bool unknown_dtype = false;
};

Settings& settings() { return *static_cast<Settings*>(fuse_get_context()->private_data); }

void delay() {
  const long us = settings().latency_us;
  if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
}

// Waits --open-latency-us in slices and gives up when the kernel interrupts the request (its
// caller was killed), as a hung NFS mount's waits end on SIGKILL: a process blocked here can
// still exit. False when interrupted.
bool open_delay() {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::microseconds(settings().open_latency_us);
  while (std::chrono::steady_clock::now() < until) {
    if (fuse_interrupted() != 0) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(10), until - std::chrono::steady_clock::now()));
  }
  return true;
}

// FUSE paths start with '/'; the backing directory is reached relative to its descriptor.
std::string relative(const char* path) {
  return path[1] == '\0' ? std::string(".") : std::string(path + 1);
}

struct OpenDir {
  DIR* dir = nullptr;
  struct dirent* entry = nullptr;
  off_t offset = 0;
};

OpenDir* dir_of(struct fuse_file_info* fi) {
  return reinterpret_cast<OpenDir*>(static_cast<std::uintptr_t>(fi->fh));
}

int lfs_getattr(const char* path, struct stat* st, struct fuse_file_info* /*fi*/) {
  delay();
  return ::fstatat(settings().backing_fd, relative(path).c_str(), st, AT_SYMLINK_NOFOLLOW) == 0
             ? 0
             : -errno;
}

int lfs_readlink(const char* path, char* buf, std::size_t size) {
  delay();
  const ssize_t n = ::readlinkat(settings().backing_fd, relative(path).c_str(), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int lfs_opendir(const char* path, struct fuse_file_info* fi) {
  delay();
  if (!open_delay()) return -EINTR;
  const int fd =
      ::openat(settings().backing_fd, relative(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  auto* d = new OpenDir;
  d->dir = ::fdopendir(fd);
  if (d->dir == nullptr) {
    const int saved = errno;
    ::close(fd);
    delete d;
    return -saved;
  }
  fi->fh = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(d));
  return 0;
}

// One call fills one kernel buffer (a page): a large directory costs several round trips.
int lfs_readdir(const char* /*path*/, void* buf, fuse_fill_dir_t filler, off_t offset,
                struct fuse_file_info* fi, enum fuse_readdir_flags /*flags*/) {
  delay();
  OpenDir* d = dir_of(fi);
  if (offset != d->offset) {
    ::seekdir(d->dir, offset);
    d->entry = nullptr;
    d->offset = offset;
  }
  for (;;) {
    if (d->entry == nullptr) {
      d->entry = ::readdir(d->dir);
      if (d->entry == nullptr) break;
    }
    struct stat st {};
    st.st_ino = d->entry->d_ino;
    if (!settings().unknown_dtype) st.st_mode = static_cast<mode_t>(DTTOIF(d->entry->d_type));
    const off_t next = static_cast<off_t>(::telldir(d->dir));
    if (filler(buf, d->entry->d_name, &st, next, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
    d->entry = nullptr;
    d->offset = next;
  }
  return 0;
}

int lfs_releasedir(const char* /*path*/, struct fuse_file_info* fi) {
  OpenDir* d = dir_of(fi);
  ::closedir(d->dir);
  delete d;
  return 0;
}

int lfs_open(const char* path, struct fuse_file_info* fi) {
  delay();
  if (!open_delay()) return -EINTR;
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
  const int fd = ::openat(settings().backing_fd, relative(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  fi->fh = static_cast<std::uint64_t>(fd);
  return 0;
}

int lfs_read(const char* /*path*/, char* buf, std::size_t size, off_t offset,
             struct fuse_file_info* fi) {
  const ssize_t n = ::pread(static_cast<int>(fi->fh), buf, size, offset);
  return n < 0 ? -errno : static_cast<int>(n);
}

int lfs_release(const char* /*path*/, struct fuse_file_info* fi) {
  ::close(static_cast<int>(fi->fh));
  return 0;
}

void* lfs_init(struct fuse_conn_info* /*conn*/, struct fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->nullpath_ok = 1;
  return fuse_get_context()->private_data;
}

struct Options {
  char* latency = nullptr;
  char* open_latency = nullptr;
  int unknown_dtype = 0;
};

const struct fuse_opt kOptionSpec[] = {
    {"--latency-us=%s", offsetof(Options, latency), 1},
    {"--open-latency-us=%s", offsetof(Options, open_latency), 1},
    {"--unknown-dtype", offsetof(Options, unknown_dtype), 1},
    FUSE_OPT_END,
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(
        stderr,
        "usage: %s BACKING_DIR MOUNTPOINT [--latency-us=N] [--open-latency-us=N] [--unknown-dtype] "
        "[-f] [-o max_threads=N,entry_timeout=S,attr_timeout=S]\n",
        argv[0]);
    return 2;
  }
  static Settings config;
  config.backing_fd = ::open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (config.backing_fd < 0) {
    std::fprintf(stderr, "latencyfs: cannot open %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  // FUSE parses everything but the backing directory.
  struct fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  fuse_opt_add_arg(&args, argv[0]);
  for (int i = 2; i < argc; ++i) fuse_opt_add_arg(&args, argv[i]);
  Options options;
  if (fuse_opt_parse(&args, &options, kOptionSpec, nullptr) != 0) return 2;
  if (options.latency != nullptr) config.latency_us = std::strtol(options.latency, nullptr, 10);
  if (options.open_latency != nullptr) {
    config.open_latency_us = std::strtol(options.open_latency, nullptr, 10);
  }
  config.unknown_dtype = options.unknown_dtype != 0;

  struct fuse_operations ops {};
  ops.init = lfs_init;
  ops.getattr = lfs_getattr;
  ops.readlink = lfs_readlink;
  ops.opendir = lfs_opendir;
  ops.readdir = lfs_readdir;
  ops.releasedir = lfs_releasedir;
  ops.open = lfs_open;
  ops.read = lfs_read;
  ops.release = lfs_release;
  const int rc = fuse_main(args.argc, args.argv, &ops, &config);
  fuse_opt_free_args(&args);
  return rc;
}
