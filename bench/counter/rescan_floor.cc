// rescan_floor: times the least work any correct rescan of an unchanged tree must do, to show
// how far an incremental rescan can be faster than a full scan on a given tree and machine.
//
// Neither POSIX nor NFS can say that a subtree is unchanged: a change deep in a tree touches no
// ancestor's timestamps. So a rescan proves each directory unchanged by its own (inode, mtime,
// ctime): one stat per directory, by name, or, for a directory with subdirectories, of the
// directory opened (O_PATH) to reach them. This program learns the tree first (not timed), then
// times only that proof, with no cache to read or write, on --threads threads sharing the work,
// and prints one JSON line:
//   rescan_floor DIR [--threads N] [--rounds R]
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct Dir {
  std::string name;
  struct timespec mtime {};
  struct timespec ctime {};
  ino_t inode = 0;
  std::vector<Dir> subdirs;
};

bool same(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "rescan_floor: %s\n", what.c_str());
  std::exit(1);
}

// Reads the listing of `dir` (open as dir_fd) and of every directory below it. Not timed.
void learn(int dir_fd, Dir& dir, const std::string& path) {
  const int list_fd = ::dup(dir_fd);
  DIR* stream = list_fd < 0 ? nullptr : ::fdopendir(list_fd);
  if (stream == nullptr) fail("cannot list " + path + ": " + std::strerror(errno));
  while (const dirent* e = ::readdir(stream)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
      continue;
    }
    Dir sub;
    sub.name = std::string(name);
    sub.mtime = st.st_mtim;
    sub.ctime = st.st_ctim;
    sub.inode = st.st_ino;
    dir.subdirs.push_back(std::move(sub));
  }
  ::closedir(stream);
  for (Dir& sub : dir.subdirs) {
    const int fd =
        ::openat(dir_fd, sub.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) fail("cannot open " + path + "/" + sub.name + ": " + std::strerror(errno));
    learn(fd, sub, path + "/" + sub.name);
    ::close(fd);
  }
}

std::size_t count_dirs(const Dir& dir) {
  std::size_t n = 1;
  for (const Dir& sub : dir.subdirs) n += count_dirs(sub);
  return n;
}

// The proof for one directory below parent_fd. One without subdirectories: its stat. One with
// subdirectories: an O_PATH open (left in *opened, else -1), to reach them, and the stat of the
// open directory. Returns 1 if it no longer matches what was learned.
std::size_t prove_one(int parent_fd, const Dir& dir, int* opened) {
  *opened = -1;
  struct stat st {};
  if (dir.subdirs.empty()) {
    if (::fstatat(parent_fd, dir.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 1;
  } else {
    *opened = ::openat(parent_fd, dir.name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*opened < 0 || ::fstat(*opened, &st) != 0) return 1;
  }
  return st.st_ino != dir.inode || !same(st.st_mtim, dir.mtime) || !same(st.st_ctim, dir.ctime) ? 1
                                                                                                : 0;
}

// The proof for one directory and everything below it: the number of directories that no longer
// match (0 on an unchanged tree).
std::size_t prove(int parent_fd, const Dir& dir) {
  int fd = -1;
  std::size_t changed = prove_one(parent_fd, dir, &fd);
  if (fd < 0) return changed;
  for (const Dir& sub : dir.subdirs) changed += prove(fd, sub);
  ::close(fd);
  return changed;
}

struct Task {
  int parent_fd;
  const Dir* dir;
};

// Runs body(i) for every i below n on up to `threads` threads, each taking the next i.
template <typename Body>
void parallel_for(std::size_t n, unsigned threads, Body body) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < std::min<std::size_t>(threads, n); ++t) {
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < n; i = next++) body(i);
    });
  }
  for (std::thread& w : workers) w.join();
}

// One timed round. The top levels are proven a level at a time, each level's directories shared
// by all threads, until there are enough subtrees to keep every thread busy; then the threads
// take whole subtrees. So all threads have requests in flight from the first level on, which is
// what matters over network latency, and on a local disk the threads share little.
std::size_t round_trip(int root_fd, const Dir& root, unsigned threads) {
  std::vector<int> open_fds;
  std::vector<Task> level;
  for (const Dir& sub : root.subdirs) level.push_back({root_fd, &sub});
  std::atomic<std::size_t> changed{0};
  while (!level.empty() && level.size() < 16 * static_cast<std::size_t>(threads)) {
    std::vector<int> fds(level.size(), -1);
    parallel_for(level.size(), threads, [&](std::size_t i) {
      changed += prove_one(level[i].parent_fd, *level[i].dir, &fds[i]);
    });
    std::vector<Task> next;
    for (std::size_t i = 0; i < level.size(); ++i) {
      if (fds[i] < 0) continue;
      open_fds.push_back(fds[i]);
      for (const Dir& sub : level[i].dir->subdirs) next.push_back({fds[i], &sub});
    }
    level = std::move(next);
  }
  parallel_for(level.size(), threads,
               [&](std::size_t i) { changed += prove(level[i].parent_fd, *level[i].dir); });
  for (const int fd : open_fds) ::close(fd);
  return changed.load();
}

unsigned parse_positive(const char* flag, const char* value) {
  char* end = nullptr;
  errno = 0;
  const unsigned long n = std::strtoul(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || n == 0 || n > 1024) {
    fail(std::string(flag) + " takes a whole number from 1 to 1024, not \"" + value + "\"");
  }
  return static_cast<unsigned>(n);
}

}  // namespace

int main(int argc, char** argv) {
  const char* root_path = nullptr;
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  unsigned rounds = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if ((arg == "--threads" || arg == "--rounds") && i + 1 < argc) {
      (arg == "--threads" ? threads : rounds) = parse_positive(argv[i], argv[i + 1]);
      ++i;
    } else if (root_path == nullptr && !arg.starts_with("-")) {
      root_path = argv[i];
    } else {
      fail("usage: rescan_floor DIR [--threads N] [--rounds R]");
    }
  }
  if (root_path == nullptr) fail("usage: rescan_floor DIR [--threads N] [--rounds R]");

  const int root_fd = ::open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail(std::string("cannot open ") + root_path + ": " + std::strerror(errno));
  Dir root;
  learn(root_fd, root, root_path);

  std::vector<double> ms;
  std::size_t changed = 0;
  for (unsigned r = 0; r < rounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    changed += round_trip(root_fd, root, threads);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  ::close(root_fd);
  std::sort(ms.begin(), ms.end());
  std::printf(
      "{\"directories\":%zu,\"threads\":%u,\"rounds\":%u,\"median_ms\":%.3f,\"min_ms\":%.3f,"
      "\"max_ms\":%.3f,\"changed\":%zu}\n",
      count_dirs(root), threads, rounds, ms[ms.size() / 2], ms.front(), ms.back(), changed);
  return changed == 0 ? 0 : 2;
}
