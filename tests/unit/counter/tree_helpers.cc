// Tree building and the nftw-based reference count.
#include "tree_helpers.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace efsas::counter::testing {
namespace {

// nftw takes a plain function: the walk in progress is kept here (tests walk one tree at a time
// per thread).
thread_local Reference* current = nullptr;
thread_local int root_level = 0;

int visit(const char* /*path*/, const struct stat* st, int type, struct FTW* ftw) {
  if (ftw->level == root_level) return 0;
  switch (type) {
    case FTW_D:
    case FTW_DP:
      ++current->counts.directories;
      break;
    case FTW_DNR:
      ++current->counts.directories;
      ++current->unreadable_directories;
      break;
    case FTW_SL:
    case FTW_SLN:
      ++current->counts.symlinks;
      break;
    case FTW_F:
      if (S_ISREG(st->st_mode)) {
        ++current->counts.files;
      } else {
        ++current->counts.other;
      }
      break;
    default:
      throw std::runtime_error("reference walk: cannot stat an entry");
  }
  return 0;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

Reference reference_count(const std::filesystem::path& root) {
  Reference ref;
  current = &ref;
  root_level = 0;
  const int rc = ::nftw(root.c_str(), visit, 32, FTW_PHYS);
  current = nullptr;
  check(rc == 0, "nftw " + root.string());
  return ref;
}

void make_dir(const std::filesystem::path& path) {
  check(::mkdir(path.c_str(), 0755) == 0, "mkdir " + path.string());
}

void make_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  check(fd >= 0, "create " + path.string());
  ::close(fd);
}

void make_files(const std::filesystem::path& dir, int count, const std::string& prefix) {
  for (int i = 0; i < count; ++i) make_file(dir / (prefix + std::to_string(i)));
}

void make_symlink(const std::string& target, const std::filesystem::path& path) {
  check(::symlink(target.c_str(), path.c_str()) == 0, "symlink " + path.string());
}

void make_fifo(const std::filesystem::path& path) {
  check(::mkfifo(path.c_str(), 0644) == 0, "mkfifo " + path.string());
}

void make_socket(const std::filesystem::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  if (p.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + p);
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  check(rc == 0, "bind " + p);
}

}  // namespace efsas::counter::testing
