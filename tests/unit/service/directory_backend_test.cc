// The directory back end on a real temporary directory: atomic puts, conditions, reads, listing,
// symbolic links that must not be followed, temp-file clean-up, probes and sweeps.
#include "efsas/service/directory_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "efsas/path.h"
#include "efsas/testing/backend_contract.h"
#include "efsas/testing/latencyfs.h"
#include "efsas/testing/process.h"

namespace efsas::service {
namespace {

namespace fs = std::filesystem;
using efsas::testing::count_reserved;
using efsas::testing::FailingBody;
using efsas::testing::read_file;
using efsas::testing::TempDir;
using efsas::testing::write_file;

MountTarget target() {
  return MountTarget{"fsmt-0123456789abcdef0",   "ap-northeast-1a", "apne1-az4",
                     "subnet-0123456789abcdef0", "10.0.1.25",       "available"};
}

std::string read_all(FileReader& reader) {
  std::string out(reader.info().size, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = reader.read_at(done, std::span<char>(out.data() + done, out.size() - done));
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    done += *n;
  }
  out.resize(done);
  return out;
}

class DirectoryBackendTest : public ::testing::Test {
 protected:
  TempDir dir_;
  std::shared_ptr<Backend> backend_ =
      make_directory_backend(target(), DirectoryBackendOptions{dir_.path().string(), "test1"});

  Result<PutResult> put(std::string_view path, std::string_view data, WriteCondition c = {}) {
    MemoryBodySource body(data);
    return backend_->put(path, body, c);
  }
};

TEST_F(DirectoryBackendTest, PutCreatesParentsThenReplaces) {
  auto first = put("a/b/c.txt", "hello");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->info.size, 5u);
  EXPECT_EQ(read_file(dir_.path() / "a/b/c.txt"), "hello");

  auto second = put("a/b/c.txt", "goodbye");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_NE(second->info.etag, first->info.etag);
  EXPECT_EQ(read_file(dir_.path() / "a/b/c.txt"), "goodbye");
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

// A body spooled to a file (an upload that found no room in memory) is written whole, and again
// whole after a rewind, as a write moving on to the next mount target sends it.
TEST_F(DirectoryBackendTest, ASpooledBodyIsWrittenWholeAndAgainAfterARewind) {
  std::string data(200 * 1024, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 % 251);
  const int fd = ::open(dir_.path().c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::write(fd, "tail", 4), 4);  // bytes past the body's size are not part of it
  FileBodySource body(fd, data.size());
  EXPECT_EQ(body.size(), data.size());

  auto first = backend_->put("spooled/one.bin", body, {});
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(first->info.size, data.size());
  EXPECT_EQ(read_file(dir_.path() / "spooled/one.bin"), data);

  ASSERT_TRUE(body.rewind());
  auto second = backend_->put("spooled/two.bin", body, {});
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(read_file(dir_.path() / "spooled/two.bin"), data);
  ::close(fd);
}

TEST_F(DirectoryBackendTest, OpenReadsRangesAndStatMatchesPut) {
  auto put_result = put("f.bin", "0123456789");
  ASSERT_TRUE(put_result.ok());
  auto reader = backend_->open("f.bin");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->info().etag, put_result->info.etag);
  EXPECT_GE((*reader)->native_fd(), 0);
  char buffer[4];
  auto n = (*reader)->read_at(3, buffer);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string_view(buffer, *n), "3456");
  EXPECT_EQ(read_all(**reader), "0123456789");

  auto info = backend_->stat("f.bin");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->etag, put_result->info.etag);
  EXPECT_FALSE(info->is_directory);
}

TEST_F(DirectoryBackendTest, MissingFilesAndDirectoriesAreNotFoundOrConflict) {
  EXPECT_EQ(backend_->open("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backend_->stat("no/such/file").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backend_->remove("nope", {}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(backend_->make_directories("d/e").ok());
  EXPECT_EQ(backend_->open("d").error().code, ErrorCode::kConflict);
  EXPECT_EQ(put("d", "x").error().code, ErrorCode::kConflict);
  ASSERT_TRUE(put("file", "x").ok());
  EXPECT_EQ(put("file/child", "x").error().code, ErrorCode::kConflict);
}

TEST_F(DirectoryBackendTest, ConditionalPutsAndDeletes) {
  WriteCondition create_only;
  create_only.if_none_match_any = true;
  ASSERT_TRUE(put("c", "one", create_only).ok());
  EXPECT_EQ(put("c", "two", create_only).error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(read_file(dir_.path() / "c"), "one");

  const auto etag = backend_->stat("c")->etag;
  WriteCondition stale;
  stale.if_match = "\"not-it\"";
  EXPECT_EQ(put("c", "three", stale).error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(backend_->remove("c", stale).error().code, ErrorCode::kPreconditionFailed);
  WriteCondition current;
  current.if_match = etag;
  ASSERT_TRUE(put("c", "four", current).ok());
  EXPECT_EQ(read_file(dir_.path() / "c"), "four");

  WriteCondition any;
  any.if_match = "*";
  EXPECT_EQ(put("absent", "x", any).error().code, ErrorCode::kPreconditionFailed);
  EXPECT_FALSE(fs::exists(dir_.path() / "absent"));
  ASSERT_TRUE(backend_->remove("c", any).ok());
  EXPECT_FALSE(fs::exists(dir_.path() / "c"));
  // A missing file is not found whatever the condition, as without one (the NFS back end too).
  EXPECT_EQ(backend_->remove("c", any).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

TEST_F(DirectoryBackendTest, FailedBodyLeavesNeitherTempNorTarget) {
  FailingBody body(100);
  auto result = backend_->put("x/y.txt", body, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kTimeout);
  EXPECT_FALSE(fs::exists(dir_.path() / "x/y.txt"));
  EXPECT_EQ(count_reserved(dir_.path()), 0u);

  ASSERT_TRUE(put("x/y.txt", "old").ok());
  FailingBody again(100);
  ASSERT_FALSE(backend_->put("x/y.txt", again, {}).ok());
  EXPECT_EQ(read_file(dir_.path() / "x/y.txt"), "old");
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

// A write that fails leaves no directory behind: a condition that needs the file fails before any
// parent is made, and the parents made for a write that fails later are removed again.
TEST_F(DirectoryBackendTest, FailedPutsLeaveNoNewDirectories) {
  WriteCondition stale;
  stale.if_match = "\"nope\"";
  EXPECT_EQ(put("new1/new2/new3/x.txt", "x", stale).error().code, ErrorCode::kPreconditionFailed);
  EXPECT_FALSE(fs::exists(dir_.path() / "new1"));

  ASSERT_TRUE(backend_->make_directories("kept").ok());
  FailingBody body(100);
  EXPECT_FALSE(backend_->put("kept/a/b/y.txt", body, {}).ok());
  EXPECT_TRUE(fs::exists(dir_.path() / "kept"));
  EXPECT_FALSE(fs::exists(dir_.path() / "kept" / "a"));
  EXPECT_EQ(count_reserved(dir_.path()), 0u);

  WriteCondition create_only;
  create_only.if_none_match_any = true;
  ASSERT_TRUE(put("new1/new2/z.txt", "z", create_only).ok());
  EXPECT_EQ(read_file(dir_.path() / "new1/new2/z.txt"), "z");
}

// A body handed out in one piece, whose end waits for `gate`: writes holding such bodies have all
// checked their conditions (and count `started` down) before any of them can commit.
class GatedBody final : public BodySource {
 public:
  GatedBody(std::string data, std::latch& started, std::shared_future<void> gate)
      : data_(std::move(data)), started_(started), gate_(std::move(gate)) {}
  Result<std::size_t> read(std::span<char> buffer) override {
    if (sent_) {
      gate_.wait();
      return std::size_t{0};
    }
    sent_ = true;
    std::copy(data_.begin(), data_.end(), buffer.begin());
    started_.count_down();
    return data_.size();
  }

 private:
  std::string data_;
  std::latch& started_;
  std::shared_future<void> gate_;
  bool sent_ = false;
};

// Writers that all name the current version in If-Match, and all pass the first check before any
// commits: exactly one succeeds, the others get 412 and change nothing.
void expect_one_conditional_writer_wins(const std::vector<std::shared_ptr<Backend>>& backends,
                                        const fs::path& data) {
  MemoryBodySource first("v0");
  auto created = backends[0]->put("race", first, {});
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  constexpr int kWriters = 6;
  std::latch started(kWriters);
  std::promise<void> open;
  const std::shared_future<void> gate = open.get_future().share();
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      GatedBody body("writer " + std::to_string(i), started, gate);
      WriteCondition condition;
      condition.if_match = created->info.etag;
      auto result =
          backends[static_cast<std::size_t>(i) % backends.size()]->put("race", body, condition);
      if (result.ok()) {
        ++succeeded;
      } else if (result.error().code == ErrorCode::kPreconditionFailed) {
        ++refused;
      }
    });
  }
  started.wait();
  open.set_value();
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(succeeded.load(), 1);
  EXPECT_EQ(refused.load(), kWriters - 1);
  EXPECT_TRUE(read_file(data / "race").starts_with("writer ")) << read_file(data / "race");
  EXPECT_EQ(count_reserved(data), 0u);
}

TEST_F(DirectoryBackendTest, OneOfConcurrentConditionalWritersWins) {
  expect_one_conditional_writer_wins({backend_}, dir_.path());
}

// Another task on the file system (here the test) holds the name's lock from its own check to its
// rename: a conditional write waits for it, then finds the version it named replaced (412) and
// changes nothing.
TEST_F(DirectoryBackendTest, AConditionalWriteWaitsForAnotherTasksLock) {
  auto created = put("shared", "v0");
  ASSERT_TRUE(created.ok());
  const NameLockPlace place = name_lock_place("shared");
  const int other = ::open((dir_.path() / place.file).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(other, 0);
  struct flock byte {};
  byte.l_type = F_WRLCK;
  byte.l_whence = SEEK_SET;
  byte.l_start = static_cast<off_t>(place.offset);
  byte.l_len = 1;
  ASSERT_EQ(::fcntl(other, F_OFD_SETLK, &byte), 0);
  auto writer = std::async(std::launch::async, [&] {
    MemoryBodySource body("mine");
    WriteCondition condition;
    condition.if_match = created->info.etag;
    return backend_->put("shared", body, condition);
  });
  EXPECT_EQ(writer.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout)
      << "the write did not wait for the lock";
  write_file(dir_.path() / "theirs.tmp", "theirs");
  fs::rename(dir_.path() / "theirs.tmp", dir_.path() / "shared");
  ::close(other);
  auto written = writer.get();
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(read_file(dir_.path() / "shared"), "theirs");
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

// A replacement or removal never opens the file under the name, not even to lock it: on an NFS
// client, a file open when another is renamed over it or when it is removed is first renamed
// aside, which empties the name for a moment (another task's create-only write could land there
// and then be overwritten) and leaves a .nfsXXXX file behind. Watched with inotify.
TEST_F(DirectoryBackendTest, ReplacingOrRemovingAFileNeverOpensIt) {
  ASSERT_TRUE(put("watched", "v0").ok());
  const int watcher = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watcher, 0);
  ASSERT_GE(::inotify_add_watch(watcher, dir_.path().c_str(), IN_OPEN), 0);
  const auto opened = [&] {
    std::vector<std::string> names;
    alignas(inotify_event) char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(watcher, buffer, sizeof buffer);
      if (n <= 0) return names;
      for (ssize_t at = 0; at < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->len > 0) names.emplace_back(event->name);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
  };
  auto created = put("watched", "v1");
  ASSERT_TRUE(created.ok());
  WriteCondition condition;
  condition.if_match = created->info.etag;
  MemoryBodySource body("v2");
  ASSERT_TRUE(backend_->put("watched", body, condition).ok());
  auto current = backend_->stat("watched");
  ASSERT_TRUE(current.ok());
  WriteCondition remove_condition;
  remove_condition.if_match = current->etag;
  ASSERT_TRUE(backend_->remove("watched", remove_condition).ok());
  for (const std::string& name : opened()) EXPECT_NE(name, "watched") << "the file was opened";
  ::close(watcher);
  EXPECT_FALSE(fs::exists(dir_.path() / "watched"));
}

// A conditional delete that lands while a conditional write of the same version is uploading
// wins; the write then finds no such version and changes nothing.
TEST_F(DirectoryBackendTest, AConditionalWriteAfterAConditionalDeleteOfItsVersionFails) {
  auto created = put("gone", "v0");
  ASSERT_TRUE(created.ok());
  std::latch started(1);
  std::promise<void> open;
  WriteCondition condition;
  condition.if_match = created->info.etag;
  auto writer = std::async(std::launch::async, [&] {
    GatedBody body("late", started, open.get_future().share());
    return backend_->put("gone", body, condition);
  });
  started.wait();
  EXPECT_TRUE(backend_->remove("gone", condition).ok());
  open.set_value();
  auto written = writer.get();
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kPreconditionFailed);
  EXPECT_FALSE(fs::exists(dir_.path() / "gone"));
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

TEST_F(DirectoryBackendTest, SymbolicLinksAreNeverFollowed) {
  TempDir outside;
  write_file(outside.path() / "secret", "top secret");
  fs::create_directory_symlink(outside.path(), dir_.path() / "escape");
  fs::create_symlink(outside.path() / "secret", dir_.path() / "link");

  EXPECT_EQ(backend_->open("escape/secret").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(backend_->open("link").error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(backend_->stat("escape/secret").ok());
  EXPECT_FALSE(put("escape/new", "x").ok());
  EXPECT_FALSE(fs::exists(outside.path() / "new"));
  EXPECT_FALSE(backend_->remove("link", {}).ok());
  EXPECT_EQ(read_file(outside.path() / "secret"), "top secret");
  EXPECT_FALSE(backend_->list("escape", 10, "").ok());
}

TEST_F(DirectoryBackendTest, ListPaginatesAndHidesTempFiles) {
  for (const char* name : {"b", "a", "d", "c", "e"})
    ASSERT_TRUE(put(std::string("dir/") + name, name).ok());
  ASSERT_TRUE(backend_->make_directories("dir/sub").ok());
  write_file(dir_.path() / "dir" / (std::string(kReservedPrefix) + "left-over"), "x");

  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = backend_->list("dir", 2, token);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    EXPECT_LE(page->entries.size(), 2u);
    for (const auto& entry : page->entries) seen.push_back(entry.name);
    token = page->next_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e", "sub"}));
  EXPECT_EQ(pages, 3);

  auto root = backend_->list("", 100, "");
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(root->entries.size(), 1u);
  EXPECT_TRUE(root->entries[0].is_directory);
  EXPECT_EQ(backend_->list("missing", 10, "").error().code, ErrorCode::kNotFound);
}

TEST_F(DirectoryBackendTest, BackEndsSharingAFileSystemWriteConcurrently) {
  // Two mount targets of one file system in one process: their temporary files must not clash.
  MountTarget other = target();
  other.id = "fsmt-0123456789abcdef1";
  auto second =
      make_directory_backend(other, DirectoryBackendOptions{dir_.path().string(), "test1"});
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 6; ++t) {
    writers.emplace_back([&, t] {
      Backend& backend = t % 2 == 0 ? *backend_ : *second;
      for (int i = 0; i < 100; ++i) {
        const std::string body = std::to_string(t) + "/" + std::to_string(i);
        MemoryBodySource source(body);
        if (!backend.put("shared/f" + std::to_string(i % 10), source, {}).ok()) ++failures;
      }
    });
  }
  for (auto& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

TEST_F(DirectoryBackendTest, MissingRootIsUnavailableAndRetryable) {
  auto gone = make_directory_backend(
      target(), DirectoryBackendOptions{(dir_.path() / "not-there").string(), "t"});
  EXPECT_EQ(gone->probe().error().code, ErrorCode::kUnavailable);
  auto result = gone->open("a");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  MemoryBodySource body("x");
  auto written = gone->put("a", body, {});
  ASSERT_FALSE(written.ok());
  EXPECT_TRUE(written.error().retryable);
  EXPECT_TRUE(backend_->probe().ok());
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

// A task out of file descriptors is busy, not out of space: its calls fail as unavailable and
// retryable (503), never as out of space (507), and work again once descriptors are free.
TEST_F(DirectoryBackendTest, RunningOutOfDescriptorsIsUnavailableNotOutOfSpace) {
  ASSERT_TRUE(put("a.txt", "a").ok());
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  std::size_t open_now = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++open_now;
  }
  struct rlimit low = saved;
  low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, open_now + 64);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> filler;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) filler.push_back(fd);
  const int open_errno = errno;
  auto read = backend_->open("a.txt");
  MemoryBodySource body("b");
  auto written = backend_->put("b.txt", body, {});
  for (const int fd : filler) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_EQ(open_errno, EMFILE);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kUnavailable) << read.error().to_string();
  EXPECT_TRUE(read.error().retryable);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kUnavailable) << written.error().to_string();
  EXPECT_TRUE(backend_->open("a.txt").ok());
  EXPECT_TRUE(put("b.txt", "b").ok());
  EXPECT_EQ(count_reserved(dir_.path()), 0u);
}

// The root is kept open between operations, yet a root path that comes to name another
// directory (a remount, a moved link) is used at once when reads check it every time.
TEST_F(DirectoryBackendTest, RootThatNowNamesAnotherDirectoryIsUsedAtOnce) {
  fs::create_directories(dir_.path() / "first");
  fs::create_directories(dir_.path() / "second");
  const auto root = dir_.path() / "root";
  fs::create_directory_symlink(dir_.path() / "first", root);
  auto backend = make_directory_backend(
      target(), DirectoryBackendOptions{root.string(), "t", std::chrono::nanoseconds{0}});
  MemoryBodySource one("one");
  ASSERT_TRUE(backend->put("f", one, {}).ok());
  ASSERT_TRUE(backend->open("f").ok());

  fs::remove(root);
  fs::create_directory_symlink(dir_.path() / "second", root);
  auto moved = backend->open("f");
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, ErrorCode::kNotFound);
  MemoryBodySource two("two");
  ASSERT_TRUE(backend->put("f", two, {}).ok());
  EXPECT_EQ(read_file(dir_.path() / "second" / "f"), "two");
  EXPECT_EQ(read_file(dir_.path() / "first" / "f"), "one");

  fs::remove(root);
  auto gone = backend->open("f");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kUnavailable);
}

// With the default interval, reads trust a recent check of the root, but a write always checks:
// nothing goes into the directory the root path stopped naming, a read that finds nothing
// through the old root looks again at once, and after the interval reads use the new root.
TEST_F(DirectoryBackendTest, ReadsTrustARecentRootCheckWritesNever) {
  fs::create_directories(dir_.path() / "first");
  fs::create_directories(dir_.path() / "second");
  const auto root = dir_.path() / "root";
  fs::create_directory_symlink(dir_.path() / "first", root);
  constexpr auto kInterval = std::chrono::milliseconds(200);
  auto backend =
      make_directory_backend(target(), DirectoryBackendOptions{root.string(), "t", kInterval});
  MemoryBodySource one("one");
  ASSERT_TRUE(backend->put("f", one, {}).ok());
  ASSERT_TRUE(backend->open("f").ok());

  fs::remove(root);
  fs::create_directory_symlink(dir_.path() / "second", root);
  MemoryBodySource two("two");
  auto written = backend->put("g", two, {});
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(written->created);
  EXPECT_EQ(read_file(dir_.path() / "second" / "g"), "two");
  EXPECT_FALSE(fs::exists(dir_.path() / "first" / "g"));
  auto found = backend->open("g");  // the write's check moved the root already
  ASSERT_TRUE(found.ok()) << found.error().to_string();

  fs::remove(root);
  fs::create_directory_symlink(dir_.path() / "first", root);
  fs::remove_all(dir_.path() / "second");
  // The cached root ("second") is gone: the failed read looks again and finds "first".
  auto back = backend->open("f");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->get()->info().size, 3u);

  fs::create_directories(dir_.path() / "third");
  fs::remove(root);
  fs::create_directory_symlink(dir_.path() / "third", root);
  std::this_thread::sleep_for(kInterval + std::chrono::milliseconds(50));
  auto later = backend->open("f");
  ASSERT_FALSE(later.ok()) << "read through the old root after the interval";
  EXPECT_EQ(later.error().code, ErrorCode::kNotFound);
}

// Local disks let the service serve from its network threads; anything else (here a FUSE file
// system, as a host's NFS mount would be) keeps file I/O on the worker pool. Every probe looks
// again, so a root that moves onto another file system is noticed.
TEST_F(DirectoryBackendTest, OnlyALocalDiskFileSystemCountsAsLocal) {
  EXPECT_FALSE(backend_->local()) << "nothing is known before the first probe";
  ASSERT_TRUE(backend_->probe().ok());
  EXPECT_TRUE(backend_->local()) << dir_.path();

  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  fs::create_directories(dir_.path() / "backing");
  fs::create_directories(dir_.path() / "mnt");
  fs::create_directories(dir_.path() / "disk");
  const auto root = dir_.path() / "root";
  fs::create_directory_symlink(dir_.path() / "disk", root);
  auto backend = make_directory_backend(target(), DirectoryBackendOptions{root.string(), "t"});
  ASSERT_TRUE(backend->probe().ok());
  EXPECT_TRUE(backend->local());

  efsas::testing::LatencyFsMount mount(dir_.path() / "backing", dir_.path() / "mnt");
  ASSERT_TRUE(mount.mounted()) << mount.log();
  fs::remove(root);
  fs::create_directory_symlink(dir_.path() / "mnt", root);
  (void)backend->probe();  // latencyfs is read-only: the probe's write fails, its look does not
  EXPECT_FALSE(backend->local());
  write_file(dir_.path() / "backing" / "seen", "through fuse");
  auto opened = backend->open("seen");
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  EXPECT_EQ(read_all(**opened), "through fuse");
}

// A budget smaller than the tree still reaches every subtree over repeated sweeps.
TEST_F(DirectoryBackendTest, RepeatedSweepsWithASmallBudgetReachEverySubtree) {
  efsas::testing::expect_repeated_sweeps_reach_every_subtree(*backend_, dir_.path(), "cov");
}

TEST_F(DirectoryBackendTest, ListingShowsOnlyFilesAndDirectories) {
  efsas::testing::expect_listing_shows_only_files_and_directories(*backend_, dir_.path(), "lsk");
}

TEST_F(DirectoryBackendTest, PagesShowEveryEntryOnceAndChangesBetweenThem) {
  efsas::testing::expect_pages_show_every_entry_once_and_changes_between_them(*backend_,
                                                                              dir_.path(), "pages");
}

// The listing of a large directory is read once for all its pages: kept while the directory's
// inode and modification time stay what they were. A page's sizes are looked at afresh.
TEST_F(DirectoryBackendTest, ALargeDirectorysListingIsKeptWhileItsStampHolds) {
  namespace fs = std::filesystem;
  const fs::path big = dir_.path() / "big";
  fs::create_directories(big);
  for (int i = 0; i < 30; ++i) write_file(big / ("n" + std::to_string(100 + i)), "x");
  const auto old_time = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(big, old_time);
  auto first = backend_->list("big", 10, "");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_EQ(first->next_token, "n109");

  // A name added with the directory's time put back cannot be seen by its stamp: the kept
  // listing is used, without it. An entry changed in place shows its new size.
  write_file(big / "n115a", "hidden");
  write_file(big / "n111", "grown");
  fs::last_write_time(big, old_time);
  auto second = backend_->list("big", 10, first->next_token);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  ASSERT_EQ(second->entries.size(), 10u);
  EXPECT_EQ(second->entries[5].name, "n115");
  EXPECT_EQ(second->entries[6].name, "n116");
  EXPECT_EQ(second->entries[1].name, "n111");
  EXPECT_EQ(second->entries[1].size, 5u);

  // Any stamp that differs (here the time, as every change of an entry sets it) reads again.
  fs::last_write_time(big, old_time + std::chrono::seconds(1));
  auto again = backend_->list("big", 10, first->next_token);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->entries[6].name, "n115a");
}

TEST(ListingCache, KeepsOnlyListingsOfDirectoriesUnchangedSinceWellBeforeTheirRead) {
  using std::chrono::seconds;
  ListingCache cache;
  const SystemTime read_at = std::chrono::system_clock::now();
  auto listing = std::make_shared<const std::vector<ListEntry>>(
      std::vector<ListEntry>{ListEntry{"a"}, ListEntry{"b"}});
  const ListingCache::Stamp fresh{7, read_at - seconds(1)};  // changed just before the read
  cache.store("fresh", fresh, read_at, listing);
  EXPECT_FALSE(cache.has("fresh"));

  const ListingCache::Stamp settled{7, read_at - seconds(60)};
  cache.store("d", settled, read_at, listing);
  ASSERT_TRUE(cache.has("d"));
  EXPECT_EQ(cache.find("d", settled, read_at + seconds(1)), listing);
  EXPECT_EQ(cache.find("d", ListingCache::Stamp{8, settled.modified}, read_at), nullptr);
  EXPECT_FALSE(cache.has("d")) << "a listing that no longer holds is dropped";

  cache.store("d", settled, read_at, listing);
  EXPECT_EQ(cache.find("d", settled, read_at + ListingCache::kMaxAge + seconds(1)), nullptr);
}

TEST(ListingCache, KeepsAtMostItsEntriesDroppingTheLeastRecentlyUsed) {
  using std::chrono::seconds;
  ListingCache cache(5);
  const SystemTime read_at = std::chrono::system_clock::now();
  const ListingCache::Stamp stamp{1, read_at - seconds(60)};
  const auto of = [](std::size_t n) {
    return std::make_shared<const std::vector<ListEntry>>(std::vector<ListEntry>(n));
  };
  cache.store("too-big", stamp, read_at, of(6));
  EXPECT_FALSE(cache.has("too-big"));
  cache.store("a", stamp, read_at, of(2));
  cache.store("b", stamp, read_at, of(2));
  EXPECT_NE(cache.find("a", stamp, read_at), nullptr);  // a is now the more recently used
  cache.store("c", stamp, read_at, of(2));
  EXPECT_TRUE(cache.has("a"));
  EXPECT_FALSE(cache.has("b"));
  EXPECT_TRUE(cache.has("c"));
}

TEST(ListingCache, APageStartsAfterItsTokenAndNamesTheNext) {
  const std::vector<ListEntry> sorted{ListEntry{"a"}, ListEntry{"b"}, ListEntry{"c"},
                                      ListEntry{"d"}};
  const auto names = [](const ListPage& page) {
    std::string out;
    for (const auto& e : page.entries) out += e.name;
    return out + "|" + page.next_token;
  };
  EXPECT_EQ(names(page_after(sorted, 2, "")), "ab|b");
  EXPECT_EQ(names(page_after(sorted, 2, "b")), "cd|");
  EXPECT_EQ(names(page_after(sorted, 2, "bb")), "cd|");
  EXPECT_EQ(names(page_after(sorted, 10, "d")), "|");
}

TEST_F(DirectoryBackendTest, SweepRemovesOnlyOldTempFiles) {
  efsas::testing::expect_sweep_removes_only_old_temp_files(*backend_, dir_.path(), "sw");
}

TEST(MountPathTemplate, ExpandsPlaceholders) {
  auto path = expand_mount_path_template("/mnt/efs/{az}/{id}-{ip}", target());
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, "/mnt/efs/ap-northeast-1a/fsmt-0123456789abcdef0-10.0.1.25");
  EXPECT_EQ(*expand_mount_path_template("/x/{az_id}/{subnet}", target()),
            "/x/apne1-az4/subnet-0123456789abcdef0");
  EXPECT_FALSE(expand_mount_path_template("/mnt/{zone}", target()).ok());
  EXPECT_FALSE(expand_mount_path_template("/mnt/{az", target()).ok());
}

}  // namespace
}  // namespace efsas::service
