// The counter against an independent reference walk, on trees with every kind of entry, deep and
// wide trees, unreadable directories, and a tree that changes while it is walked.
#include "efsas/counter/counter.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

#include "efsas/testing/latencyfs.h"
#include "efsas/testing/process.h"
#include "tree_helpers.h"

namespace efsas::counter {
namespace {

using testing::make_dir;
using testing::make_file;
using testing::make_files;
using testing::reference_count;

CountResult count(const std::filesystem::path& root, CountOptions options = {}) {
  ManualClock clock;
  Result<CountResult> r = count_files(root, options, clock);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? *r : CountResult{};
}

// Every kind of entry, loops and odd names.
void build_mixed_tree(const std::filesystem::path& root) {
  make_files(root, 7);
  make_dir(root / "a");
  make_dir(root / "a" / "b");
  make_dir(root / "a" / "b" / "c");
  make_files(root / "a" / "b" / "c", 5);
  make_dir(root / "empty");
  testing::make_symlink(".", root / "a" / "self");          // loop to itself
  testing::make_symlink("../..", root / "a" / "b" / "up");  // loop to an ancestor
  testing::make_symlink("/nonexistent/target", root / "dangling");
  testing::make_symlink("a", root / "to-dir");
  testing::make_symlink("f0", root / "to-file");
  testing::make_fifo(root / "a" / "fifo");
  testing::make_socket(root / "a" / "sock");
  make_dir(root / "new\nline");
  make_files(root / "new\nline", 3, "x\ny");
  make_dir(root / "bad-\xff\xfe-utf8");
  make_files(root / "bad-\xff\xfe-utf8", 4, "\xc3\x28");
  make_file(root / "a" / " leading space");
  make_file(root / "a" / "...");
}

TEST(CounterTest, MixedTreeMatchesReferenceWalk) {
  efsas::testing::TempDir dir;
  build_mixed_tree(dir.path());
  const testing::Reference ref = reference_count(dir.path());
  // Expected by construction too, so the reference itself is checked.
  EXPECT_EQ(ref.counts, (Counts{7 + 5 + 3 + 4 + 2, 6, 5, 2}));
  for (unsigned threads : {1U, 2U, 16U, 64U}) {
    CountOptions options;
    options.threads = threads;
    const CountResult r = count(dir.path(), options);
    EXPECT_EQ(r.counts, ref.counts) << threads << " threads";
    EXPECT_EQ(r.errors, 0U);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.directories_read, 7U);
  }
}

TEST(CounterTest, StatFallbackForUnknownTypesGivesTheSameCounts) {
  efsas::testing::TempDir dir;
  build_mixed_tree(dir.path());
  CountOptions options;
  options.trust_d_type = false;
  EXPECT_EQ(count(dir.path(), options).counts, reference_count(dir.path()).counts);
}

// A real file system that reports every entry as DT_UNKNOWN: tools/latencyfs --unknown-dtype
// over FUSE (skipped where FUSE is not available).
TEST(CounterTest, FileSystemReportingUnknownTypesIsStatted) {
  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  efsas::testing::TempDir dir;
  const auto backing = dir.path() / "backing";
  const auto mount = dir.path() / "mnt";
  make_dir(backing);
  make_dir(mount);
  build_mixed_tree(backing);
  CountResult r;
  {
    efsas::testing::LatencyFsMount fs(backing, mount, {"--latency-us=0", "--unknown-dtype"});
    ASSERT_TRUE(fs.mounted()) << "latencyfs did not mount: " << fs.log();
    // Show that the stat fallback is what this exercises: the mount really reports DT_UNKNOWN.
    DIR* listing = ::opendir(mount.c_str());
    ASSERT_NE(listing, nullptr);
    int known = 0;
    int entries = 0;
    while (const struct dirent* e = ::readdir(listing)) {
      ++entries;
      if (e->d_type != DT_UNKNOWN) ++known;
    }
    ::closedir(listing);
    EXPECT_GT(entries, 2);
    EXPECT_EQ(known, 0);
    r = count(mount);
  }
  EXPECT_EQ(r.counts, reference_count(backing).counts);
  EXPECT_EQ(r.errors, 0U);
}

// The thread option is a ceiling: a walk the cores keep up with (a small cached tree) starts one
// worker per core, while one whose workers wait (1 ms per request through latencyfs, as on EFS)
// starts more until it reaches the ceiling.
TEST(CounterTest, WorkersStartAsTheWalkNeedsThem) {
  efsas::testing::TempDir dir;
  build_mixed_tree(dir.path());
  CountOptions options;
  options.threads = 64;
  // A window far longer than this walk: however busy the machine, the walk ends before the first
  // judgement, with the workers it started at once, one per core.
  options.ramp_window = std::chrono::seconds(30);
  const CountResult cached = count(dir.path(), options);
  EXPECT_EQ(cached.counts, reference_count(dir.path()).counts);
  EXPECT_EQ(cached.threads, std::clamp(std::thread::hardware_concurrency(), 1U, 64U))
      << "a walk of a few cached directories started more than one worker per core";
  options.ramp_window = CountOptions{}.ramp_window;

  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  const auto backing = dir.path() / "backing";
  const auto mount = dir.path() / "mnt";
  make_dir(backing);
  make_dir(mount);
  for (int i = 0; i < 60; ++i) {
    const auto sub = backing / ("d" + std::to_string(i));
    make_dir(sub);
    make_dir(sub / "e");
    make_files(sub / "e", 2);
  }
  options.threads = 32;
  CountResult slow;
  {
    efsas::testing::LatencyFsMount fs(backing, mount, {"--latency-us=1000"});
    ASSERT_TRUE(fs.mounted()) << "latencyfs did not mount: " << fs.log();
    slow = count(mount, options);
  }
  EXPECT_EQ(slow.counts, reference_count(backing).counts);
  EXPECT_GT(slow.threads, std::thread::hardware_concurrency())
      << "the walk waited on every request yet did not start more";
}

TEST(CounterTest, NoDescriptorBudgetStillReachesEveryDirectory) {
  efsas::testing::TempDir dir;
  build_mixed_tree(dir.path());
  for (int i = 0; i < 30; ++i) {
    const auto sub = dir.path() / ("w" + std::to_string(i));
    make_dir(sub);
    make_dir(sub / "x");
    make_files(sub / "x", i);
  }
  CountOptions options;
  options.max_open_directories = 0;  // every child is reached by re-walking from the root
  options.threads = 8;
  EXPECT_EQ(count(dir.path(), options).counts, reference_count(dir.path()).counts);
}

// A walk never runs the process out of descriptors, whatever its thread and budget settings:
// under a low open-file limit (Lambda's is 1,024) it takes fewer, where it used to fail whole
// subtrees with EMFILE.
TEST(CounterTest, ALowOpenFileLimitCutsTheWalkDownInsteadOfFailingDirectories) {
  efsas::testing::TempDir dir;
  // 300 levels, each with a second subdirectory: going down, the walk keeps every level open
  // for the sibling it has yet to visit.
  std::filesystem::path level = dir.path();
  for (int i = 0; i < 300; ++i) {
    make_dir(level / "b");
    make_files(level / "b", 1);
    make_dir(level / "a");
    level /= "a";
  }
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit low = saved;
  low.rlim_cur = 100;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  CountOptions options;
  options.threads = 64;
  options.max_open_directories = 256;
  const CountResult r = count(dir.path(), options);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_EQ(r.errors, 0U) << (r.error_samples.empty() ? "" : r.error_samples[0].message);
  EXPECT_EQ(r.counts, reference_count(dir.path()).counts);
  EXPECT_LE(r.threads, 9U);
}

TEST(CounterTest, ThousandLevelsOfNesting) {
  efsas::testing::TempDir dir;
  std::filesystem::path p = dir.path();
  for (int level = 0; level < 1000; ++level) {
    p /= "d";
    make_dir(p);
    make_file(p / "f");
  }
  const testing::Reference ref = reference_count(dir.path());
  ASSERT_EQ(ref.counts, (Counts{1000, 1000, 0, 0}));
  CountOptions options;
  options.threads = 4;
  EXPECT_EQ(count(dir.path(), options).counts, ref.counts);
  options.max_open_directories = 4;
  EXPECT_EQ(count(dir.path(), options).counts, ref.counts);
}

// Paths longer than PATH_MAX: the walk only ever opens names relative to a descriptor.
TEST(CounterTest, NestingDeeperThanPathMax) {
  efsas::testing::TempDir dir;
  const std::string name(60, 'n');
  int fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (int level = 0; level < 1000; ++level) {
    ASSERT_EQ(::mkdirat(fd, name.c_str(), 0755), 0);
    const int file = ::openat(fd, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(file, 0);
    ::close(file);
    const int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(next, 0);
    ::close(fd);
    fd = next;
  }
  ::close(fd);
  CountOptions options;
  options.max_open_directories = 2;
  const CountResult r = count(dir.path(), options);
  EXPECT_EQ(r.counts, (Counts{1000, 1000, 0, 0}));
  EXPECT_EQ(r.errors, 0U);
  // TempDir removes with paths, which this chain outgrows: take it apart from the inside.
  ASSERT_EQ(::chdir(dir.path().c_str()), 0);
  for (int level = 0; level < 1000; ++level) ASSERT_EQ(::chdir(name.c_str()), 0);
  for (int level = 0; level < 1000; ++level) {
    ASSERT_EQ(::chdir(".."), 0);
    ASSERT_EQ(::rmdir(name.c_str()), 0);
    ASSERT_EQ(::unlink("file"), 0);
  }
  ASSERT_EQ(::chdir("/"), 0);
}

TEST(CounterTest, HundredThousandEntriesInOneDirectory) {
  efsas::testing::TempDir dir;
  make_files(dir.path(), 100'000);
  make_dir(dir.path() / "sub");
  make_files(dir.path() / "sub", 10);
  const CountResult r = count(dir.path());
  EXPECT_EQ(r.counts, (Counts{100'010, 1, 0, 0}));
  EXPECT_EQ(r.counts, reference_count(dir.path()).counts);
}

TEST(CounterTest, RootThatIsMissingOrNotADirectoryIsAnError) {
  efsas::testing::TempDir dir;
  make_file(dir.path() / "file");
  ManualClock clock;
  const Result<CountResult> missing = count_files(dir.path() / "absent", {}, clock);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  const Result<CountResult> file = count_files(dir.path() / "file", {}, clock);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidArgument);
}

TEST(CounterTest, SymlinkedRootIsFollowedButNothingBelowIt) {
  efsas::testing::TempDir dir;
  make_dir(dir.path() / "real");
  make_files(dir.path() / "real", 3);
  testing::make_symlink("..", dir.path() / "real" / "loop");
  testing::make_symlink("real", dir.path() / "link");
  EXPECT_EQ(count(dir.path() / "link").counts, (Counts{3, 0, 1, 0}));
}

// Permission errors need a user that permissions apply to: root ignores them, so the count runs
// in a forked child that has dropped to nobody.
struct ChildCount {
  unsigned long long files = 0, directories = 0, errors = 0, samples = 0;
  int first_errno = 0;
  std::set<std::string> paths;
};

ChildCount count_as_nobody(const std::filesystem::path& root) {
  int fds[2];
  if (::pipe(fds) != 0) ADD_FAILURE() << "pipe";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      ::_exit(2);
    }
    // Make sure the privilege drop took: a readable check on a 0000 directory must fail.
    RealClock clock;
    CountOptions options;
    options.threads = 4;
    const Result<CountResult> r = count_files(root, options, clock);
    if (!r.ok()) ::_exit(3);
    std::string out =
        std::to_string(r->counts.files) + " " + std::to_string(r->counts.directories) + " " +
        std::to_string(r->errors) + " " + std::to_string(r->error_samples.size()) + " " +
        std::to_string(r->error_samples.empty() ? 0 : r->error_samples[0].error_number) + "\n";
    for (const ScanError& e : r->error_samples) out += e.path + "\n";
    const ssize_t written = ::write(fds[1], out.data(), out.size());
    ::_exit(written == static_cast<ssize_t>(out.size()) ? 0 : 4);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ChildCount c;
  std::istringstream in(text);
  in >> c.files >> c.directories >> c.errors >> c.samples >> c.first_errno;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) c.paths.insert(line);
  return c;
}

TEST(CounterTest, UnreadableDirectoriesAreCountedAsErrorsNotFatal) {
  efsas::testing::TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  const auto root = dir.path();
  make_dir(root / "a");
  make_files(root / "a", 3);
  make_dir(root / "secret");
  make_files(root / "secret", 5);
  make_dir(root / "secret" / "inner");
  make_dir(root / "b");
  make_dir(root / "b" / "list-denied");
  make_files(root / "b" / "list-denied", 2);
  make_dir(root / "c");
  make_files(root / "c", 4);
  ASSERT_EQ(::chmod((root / "secret").c_str(), 0000), 0);
  ASSERT_EQ(::chmod((root / "b" / "list-denied").c_str(), 0311), 0);  // search, no read

  const ChildCount c = count_as_nobody(root);
  EXPECT_EQ(c.files, 3U + 4U);
  EXPECT_EQ(c.directories, 5U);  // a, secret, b, list-denied, c: inner is out of sight
  EXPECT_EQ(c.errors, 2U);
  EXPECT_EQ(c.samples, 2U);
  EXPECT_EQ(c.first_errno, EACCES);
  EXPECT_EQ(c.paths, (std::set<std::string>{(root / "secret").string(),
                                            (root / "b" / "list-denied").string()}));
  ::chmod((root / "secret").c_str(), 0755);
  ::chmod((root / "b" / "list-denied").c_str(), 0755);
}

TEST(CounterTest, ErrorSamplesAreBoundedButEveryErrorIsCounted) {
  efsas::testing::TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  for (int i = 0; i < 40; ++i) {
    const auto sub = dir.path() / ("locked" + std::to_string(i));
    make_dir(sub);
    ASSERT_EQ(::chmod(sub.c_str(), 0000), 0);
  }
  const ChildCount c = count_as_nobody(dir.path());
  EXPECT_EQ(c.directories, 40U);
  EXPECT_EQ(c.errors, 40U);
  EXPECT_EQ(c.samples, CountOptions{}.max_error_samples);
}

// Another thread creates and removes directories while the walk runs: no crash, the count stays
// between what was always there and what could have been, and vanished directories are errors.
TEST(CounterTest, TreeChangingDuringTheWalk) {
  efsas::testing::TempDir dir;
  const auto stable = dir.path() / "stable";
  make_dir(stable);
  for (int i = 0; i < 20; ++i) {
    make_dir(stable / std::to_string(i));
    make_files(stable / std::to_string(i), 10);
  }
  const auto churn = dir.path() / "churn";
  make_dir(churn);
  constexpr int kChurnDirs = 300;
  constexpr int kFilesPerChurnDir = 3;
  std::uint64_t errors_seen = 0;
  for (int round = 0; round < 40 && errors_seen == 0; ++round) {
    for (int i = 0; i < kChurnDirs; ++i) {
      const auto d = churn / std::to_string(i);
      std::error_code ec;
      std::filesystem::create_directory(d, ec);
      std::filesystem::create_directory(d / "inner", ec);
      for (int f = 0; f < kFilesPerChurnDir; ++f) make_file(d / "inner" / std::to_string(f));
    }
    std::atomic<bool> go{true};
    std::thread changer([&] {
      for (int pass = 0; go.load(); ++pass) {
        for (int i = kChurnDirs - 1; i >= 0 && go.load(); --i) {
          const auto d = churn / std::to_string(i);
          std::error_code ec;
          if (pass % 2 == 0) {
            std::filesystem::remove_all(d, ec);
          } else {
            std::filesystem::create_directory(d, ec);
            std::filesystem::create_directory(d / "inner", ec);
            make_file(d / "inner" / "0");
          }
        }
      }
    });
    CountOptions options;
    options.threads = 8;
    options.max_error_samples = 1000;
    const CountResult r = count(dir.path(), options);
    go.store(false);
    changer.join();
    EXPECT_TRUE(r.complete);
    EXPECT_GE(r.counts.files, 200U);
    EXPECT_LE(r.counts.files, 200U + kChurnDirs * kFilesPerChurnDir);
    EXPECT_GE(r.counts.directories, 22U);
    EXPECT_LE(r.counts.directories, 22U + 2 * kChurnDirs);
    EXPECT_EQ(r.errors, r.error_samples.size());
    for (const ScanError& e : r.error_samples) {
      EXPECT_TRUE(e.error_number == ENOENT || e.error_number == ENOTDIR) << e.path << e.message;
      EXPECT_EQ(e.path.rfind(churn.string(), 0), 0U) << e.path;
    }
    errors_seen += r.errors;
  }
  EXPECT_GT(errors_seen, 0U) << "the changing tree never made a directory vanish mid-walk";
}

TEST(CounterTest, DeadlineAlreadyPassedGivesAPartialResult) {
  efsas::testing::TempDir dir;
  make_dir(dir.path() / "a");
  make_files(dir.path() / "a", 3);
  ManualClock clock;
  CountOptions options;
  options.deadline = clock.steady_now();
  const Result<CountResult> r = count_files(dir.path(), options, clock);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->complete);
  EXPECT_EQ(r->incomplete_reason, "deadline");
  EXPECT_LT(r->counts.files, 3U);
  EXPECT_EQ(to_json(*r)["complete"], false);
}

// The deadline holds while the root itself is listed (a target directory of millions of files
// directly in it, changed since the last run, is listed whole on Lambda). Here the clock passes
// the deadline during the root's listing, 20,000 entries: the walk stops there, partial.
TEST(CounterTest, TheDeadlineStopsTheListingOfTheRootItself) {
  efsas::testing::TempDir dir;
  make_files(dir.path(), 20'000);
  make_dir(dir.path() / "sub");
  make_files(dir.path() / "sub", 3);
  ManualClock clock;
  CountOptions options;
  options.deadline = clock.steady_now() + std::chrono::seconds(10);
  int checks = 0;
  // Called right after each deadline check: the second moves the clock past the deadline.
  options.cancelled = [&] {
    if (++checks == 2) clock.advance(std::chrono::minutes(1));
    return false;
  };
  const Result<CountResult> r = count_files(dir.path(), options, clock);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->complete);
  EXPECT_EQ(r->incomplete_reason, "deadline");
  EXPECT_LT(r->counts.files, 20'000U);
  EXPECT_LT(checks, 10);
}

TEST(CounterTest, CancelStopsTheWalkAndFlagsItPartial) {
  efsas::testing::TempDir dir;
  for (int i = 0; i < 200; ++i) make_dir(dir.path() / std::to_string(i));
  CountOptions options;
  options.cancelled = [] { return true; };
  const CountResult r = count(dir.path(), options);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.incomplete_reason, "cancelled");
}

// A walk stopped once it has counted something ends partial, with a lower bound no smaller than
// what its progress showed. Through latencyfs (1 ms a request) the walk takes far longer than the
// 1 ms between polls, so the stop always comes mid-walk.
TEST(CounterTest, StopRequestedMidWalkLeavesALowerBound) {
  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  efsas::testing::TempDir dir;
  const auto backing = dir.path() / "backing";
  const auto mount = dir.path() / "mnt";
  make_dir(backing);
  make_dir(mount);
  for (int i = 0; i < 300; ++i) {
    make_dir(backing / std::to_string(i));
    make_files(backing / std::to_string(i), 2);
  }
  std::atomic<std::uint64_t> last_progress{0};
  std::atomic<bool> monotonic{true};
  CountOptions options;
  options.threads = 2;
  options.poll_interval = std::chrono::milliseconds(1);
  options.cancelled = [&] { return last_progress.load() > 0; };
  options.on_progress = [&](const Progress& p) {
    if (p.files < last_progress.load()) monotonic = false;
    last_progress = p.files;
  };
  CountResult r;
  {
    efsas::testing::LatencyFsMount fs(backing, mount, {"--latency-us=1000"});
    ASSERT_TRUE(fs.mounted()) << "latencyfs did not mount: " << fs.log();
    RealClock clock;  // progress is reported as time passes
    Result<CountResult> counted = count_files(mount, options, clock);
    ASSERT_TRUE(counted.ok()) << counted.error().to_string();
    r = *counted;
  }
  EXPECT_TRUE(monotonic.load());
  ASSERT_FALSE(r.complete) << "the walk finished before the stop";
  EXPECT_EQ(r.incomplete_reason, "cancelled");
  EXPECT_GE(r.counts.files, last_progress.load());
  EXPECT_GT(r.counts.files, 0U);
  EXPECT_LT(r.counts.files, 600U);
}

}  // namespace
}  // namespace efsas::counter

namespace efsas::counter {
namespace {

TEST(EscapeForDisplayTest, KeepsUtf8AndEscapesTheRest) {
  EXPECT_EQ(escape_for_display("plain/ascii name"), "plain/ascii name");
  EXPECT_EQ(escape_for_display("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(escape_for_display("new\nline\ttab\\"), "new\\x0aline\\x09tab\\x5c");
  EXPECT_EQ(escape_for_display("bad-\xff\xfe"), "bad-\\xff\\xfe");
  EXPECT_EQ(escape_for_display("\xc3\x28"), "\\xc3(");               // broken sequence
  EXPECT_EQ(escape_for_display("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(escape_for_display("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(escape_for_display("\xe2\x82"), "\\xe2\\x82");           // truncated
}

TEST(EscapeForDisplayTest, ResultJsonWithOddErrorPathsSerialises) {
  CountResult r;
  r.errors = 1;
  r.error_samples.push_back(ScanError{"/data/bad-\xff\n", EACCES, "Permission denied"});
  const std::string text = to_json(r).dump();
  EXPECT_NE(text.find("bad-\\\\xff\\\\x0a"), std::string::npos) << text;
}

}  // namespace
}  // namespace efsas::counter
