// The NFS back end through the service::Backend interface, against three nfs-ganesha servers
// exporting one directory: the same contract the directory back end keeps (atomic puts,
// conditions, ranges, listing, probes, sweeps), plus what only NFS has: mount targets reached
// through an address map, and a killed or hung server.
#include "efsas/nfs/nfs_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "efsas/clock.h"
#include "efsas/path.h"
#include "efsas/testing/backend_contract.h"
#include "efsas/testing/ganesha.h"

namespace efsas::nfs {
namespace {

namespace fs = std::filesystem;
using efsas::testing::count_reserved;
using efsas::testing::FailingBody;
using efsas::testing::GaneshaCluster;
using efsas::testing::read_file;
using efsas::testing::TempDir;
using efsas::testing::write_file;
using service::Backend;
using service::FileReader;
using service::MemoryBodySource;
using service::WriteCondition;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

GaneshaCluster* cluster = nullptr;

MountTarget target(int i) {
  // The addresses EFS would report; the address map sends them to the local servers.
  return MountTarget{
      "fsmt-0000000000000000" + std::to_string(i), "ap-northeast-1a",
      "apne1-az" + std::to_string(i + 1),          "subnet-0000000" + std::to_string(i),
      "10.0." + std::to_string(i) + ".10",         "available"};
}

// The default timeout is the service's own (NFS_TIMEOUT_MS): tests that hang a server pass a
// shorter one, and a server only slowed by a loaded machine does not fail a call.
NfsBackendOptions options(milliseconds timeout = milliseconds(5000)) {
  NfsBackendOptions out;
  out.instance_id = "t" + std::to_string(::getpid());
  out.timeout = timeout;
  out.sessions_per_target = 3;
  out.read_whole_limit = 64 * 1024;
  auto map = parse_address_map("10.0.0.10=127.0.0.2,10.0.1.10=127.0.0.3,10.0.2.10=127.0.0.4");
  if (!map.ok()) std::abort();
  out.address_map = *map;
  return out;
}

std::string pattern(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 7;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

Result<std::string> read_all(FileReader& reader) {
  std::string out;
  std::vector<char> buffer(100'000);
  while (true) {
    auto n = reader.read_at(out.size(), buffer);
    if (!n.ok()) return n.error();
    if (*n == 0) break;
    out.append(buffer.data(), *n);
  }
  return out;
}

Result<std::string> get(Backend& backend, std::string_view path) {
  auto reader = backend.open(path);
  if (!reader.ok()) return reader.error();
  return read_all(**reader);
}

Result<service::PutResult> put(Backend& backend, std::string_view path, std::string_view data,
                               WriteCondition condition = {}) {
  MemoryBodySource body(data);
  return backend.put(path, body, condition);
}

class NfsBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster = new GaneshaCluster(); }
  static void TearDownTestSuite() {
    delete cluster;
    cluster = nullptr;
  }
  void SetUp() override {
    cluster->serve_all();
    for (int i = 0; i < 3; ++i) backends_.push_back(make_nfs_backend(target(i), options(), clock_));
  }
  fs::path data() const { return cluster->export_dir(); }

  std::shared_ptr<const Clock> clock_ = std::make_shared<RealClock>();
  std::vector<std::shared_ptr<Backend>> backends_;
};

TEST_F(NfsBackendTest, PutCreatesParentsThenReplaces) {
  Backend& b = *backends_[0];
  auto first = put(b, "pc/a/b/c.txt", "hello");
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->info.size, 5u);
  EXPECT_EQ(read_file(data() / "pc/a/b/c.txt"), "hello");
  auto second = put(b, "pc/a/b/c.txt", "goodbye");
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_FALSE(second->created);
  EXPECT_NE(second->info.etag, first->info.etag);
  EXPECT_EQ(read_file(data() / "pc/a/b/c.txt"), "goodbye");
  EXPECT_EQ(count_reserved(data()), 0u);
}

TEST_F(NfsBackendTest, EveryTargetServesTheSameFileWithTheSameEtag) {
  for (std::size_t size : {std::size_t{0}, std::size_t{3945}, std::size_t{64 * 1024},
                           std::size_t{64 * 1024 + 1}, std::size_t{(1 << 20) + 3}}) {
    const std::string path = "same/f" + std::to_string(size);
    const std::string content = pattern(size, static_cast<unsigned>(size));
    auto written = put(*backends_[size % 3], path, content);
    ASSERT_TRUE(written.ok()) << written.error().to_string();
    for (auto& backend : backends_) {
      auto reader = backend->open(path);
      ASSERT_TRUE(reader.ok()) << reader.error().to_string();
      EXPECT_EQ((*reader)->info().etag, written->info.etag) << backend->target().id;
      EXPECT_EQ((*reader)->info().size, size);
      auto back = read_all(**reader);
      ASSERT_TRUE(back.ok()) << back.error().to_string();
      EXPECT_TRUE(*back == content) << "size " << size << " via " << backend->target().id;
      // Ranges: positional reads anywhere in the file.
      if (size > 10) {
        char buffer[7];
        auto n = (*reader)->read_at(size - 7, buffer);
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(std::string_view(buffer, *n), std::string_view(content).substr(size - 7));
      }
      auto info = backend->stat(path);
      ASSERT_TRUE(info.ok());
      EXPECT_EQ(info->etag, written->info.etag);
    }
  }
}

TEST_F(NfsBackendTest, MissingFilesAndDirectoriesAreNotFoundOrConflict) {
  Backend& b = *backends_[1];
  EXPECT_EQ(b.open("nf/nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(b.stat("nf/no/such/file").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(b.remove("nf/nope", {}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(b.make_directories("nf/d/e").ok());
  EXPECT_EQ(b.open("nf/d").error().code, ErrorCode::kConflict);
  EXPECT_EQ(put(b, "nf/d", "x").error().code, ErrorCode::kConflict);
  ASSERT_TRUE(put(b, "nf/file", "x").ok());
  EXPECT_EQ(put(b, "nf/file/child", "x").error().code, ErrorCode::kConflict);
  EXPECT_EQ(b.stat("nf/file/child").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(count_reserved(data()), 0u);
}

TEST_F(NfsBackendTest, ConditionalPutsAndDeletes) {
  Backend& b = *backends_[2];
  WriteCondition create_only;
  create_only.if_none_match_any = true;
  ASSERT_TRUE(put(b, "cond/c", "one", create_only).ok());
  EXPECT_EQ(put(b, "cond/c", "two", create_only).error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(read_file(data() / "cond/c"), "one");

  const auto etag = b.stat("cond/c")->etag;
  WriteCondition stale;
  stale.if_match = "\"not-it\"";
  EXPECT_EQ(put(b, "cond/c", "three", stale).error().code, ErrorCode::kPreconditionFailed);
  EXPECT_EQ(b.remove("cond/c", stale).error().code, ErrorCode::kPreconditionFailed);
  WriteCondition current;
  current.if_match = etag;
  ASSERT_TRUE(put(b, "cond/c", "four", current).ok());
  EXPECT_EQ(read_file(data() / "cond/c"), "four");

  WriteCondition any;
  any.if_match = "*";
  EXPECT_EQ(put(b, "cond/absent", "x", any).error().code, ErrorCode::kPreconditionFailed);
  EXPECT_FALSE(fs::exists(data() / "cond/absent"));
  ASSERT_TRUE(b.remove("cond/c", any).ok());
  EXPECT_FALSE(fs::exists(data() / "cond/c"));
  // A missing file is not found whatever the condition, as without one.
  EXPECT_EQ(b.remove("cond/c", any).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(b.remove("cond/c", current).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(count_reserved(data()), 0u);
}

// Writers naming the same version through all three targets (each its own NFSv4 client): the
// condition is checked again on the file under the name, locked until the RENAME or REMOVE, so
// exactly one of them acts on that version and the others get 412; no update is lost.
TEST_F(NfsBackendTest, ConditionalWritersOfOneVersionNeverBothSucceed) {
  ASSERT_TRUE(put(*backends_[0], "race/f", "v0").ok());
  const std::string etag = backends_[0]->stat("race/f")->etag;
  constexpr std::size_t kWriters = 6;
  std::vector<int> outcome(kWriters, -1);  // 0 succeeded, 1 precondition failed, 2 other
  std::vector<std::string> errors(kWriters);
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < kWriters; ++i) {
    bodies.push_back(pattern(512 * 1024 + i, 40 + static_cast<unsigned>(i)));
  }
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      WriteCondition condition;
      condition.if_match = etag;
      auto done = put(*backends_[i % 3], "race/f", bodies[i], condition);
      outcome[i] = done.ok() ? 0 : done.error().code == ErrorCode::kPreconditionFailed ? 1 : 2;
      if (!done.ok()) errors[i] = done.error().to_string();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::count(outcome.begin(), outcome.end(), 0), 1);
  EXPECT_EQ(std::count(outcome.begin(), outcome.end(), 1), static_cast<long>(kWriters) - 1)
      << ::testing::PrintToString(errors);
  const auto winner = std::find(outcome.begin(), outcome.end(), 0);
  ASSERT_NE(winner, outcome.end());
  EXPECT_EQ(read_file(data() / "race/f"),
            bodies[static_cast<std::size_t>(winner - outcome.begin())]);

  // A conditional DELETE and a conditional PUT of the same version: one of them.
  const std::string now = backends_[0]->stat("race/f")->etag;
  WriteCondition condition;
  condition.if_match = now;
  Status removed;
  Result<service::PutResult> replaced = make_error(ErrorCode::kInternal, "not run");
  std::thread remover([&] { removed = backends_[1]->remove("race/f", condition); });
  std::thread writer(
      [&] { replaced = put(*backends_[2], "race/f", pattern(256 * 1024, 9), condition); });
  remover.join();
  writer.join();
  EXPECT_NE(removed.ok(), replaced.ok())
      << (removed.ok() ? "" : removed.error().to_string()) << " / "
      << (replaced.ok() ? "" : replaced.error().to_string());
  EXPECT_EQ(fs::exists(data() / "race/f"), replaced.ok());
  EXPECT_EQ(count_reserved(data()), 0u);
}

TEST_F(NfsBackendTest, CreateOnlyPutsRaceAndExactlyOneWins) {
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      WriteCondition create_only;
      create_only.if_none_match_any = true;
      auto result = put(*backends_[static_cast<std::size_t>(t) % 3], "race/one",
                        "writer " + std::to_string(t), create_only);
      if (result.ok()) {
        won.fetch_add(1);
      } else if (result.error().code == ErrorCode::kPreconditionFailed) {
        lost.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), 5);
  EXPECT_EQ(count_reserved(data()), 0u);
}

TEST_F(NfsBackendTest, FailedBodyLeavesNeitherTempNorTarget) {
  Backend& b = *backends_[0];
  FailingBody body(5000);
  auto result = b.put("fb/y.txt", body, {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kTimeout);
  EXPECT_FALSE(fs::exists(data() / "fb/y.txt"));
  ASSERT_TRUE(put(b, "fb/y.txt", "old").ok());
  FailingBody again(5000);
  ASSERT_FALSE(b.put("fb/y.txt", again, {}).ok());
  EXPECT_EQ(read_file(data() / "fb/y.txt"), "old");
  EXPECT_EQ(count_reserved(data()), 0u);
}

TEST_F(NfsBackendTest, SymbolicLinksAreNotFollowedAndNeverLeaveTheExport) {
  TempDir outside;
  write_file(outside.path() / "secret", "top secret");
  fs::create_directories(data() / "sl");
  fs::create_directory_symlink(outside.path(), data() / "sl/escape");
  fs::create_symlink(outside.path() / "secret", data() / "sl/link");
  write_file(data() / "sl/real", "inside");
  fs::create_symlink("real", data() / "sl/inner");
  Backend& b = *backends_[1];

  fs::create_directory_symlink("../sl", data() / "sl/loop");
  // Links in the middle of a path are refused too, even those that stay inside the export.
  EXPECT_EQ(b.open("sl/escape/secret").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(b.open("sl/loop/real").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(put(b, "sl/loop/new", "x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(data() / "sl/new"));
  EXPECT_EQ(b.list("sl/loop", 10, "").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(*get(b, "sl/real"), "inside");
  EXPECT_EQ(b.open("sl/link").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(b.open("sl/inner").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(b.stat("sl/inner").error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(b.stat("sl/escape/secret").ok());
  EXPECT_FALSE(put(b, "sl/escape/new", "x").ok());
  EXPECT_FALSE(fs::exists(outside.path() / "new"));
  EXPECT_FALSE(b.remove("sl/link", {}).ok());
  EXPECT_TRUE(fs::is_symlink(data() / "sl/link"));
  EXPECT_EQ(read_file(outside.path() / "secret"), "top secret");
}

TEST_F(NfsBackendTest, ListPaginatesAndHidesTempFiles) {
  Backend& b = *backends_[2];
  for (const char* name : {"b", "a", "d", "c", "e"}) {
    ASSERT_TRUE(put(b, std::string("ls/") + name, name).ok());
  }
  ASSERT_TRUE(b.make_directories("ls/sub").ok());
  write_file(data() / "ls" / (std::string(kReservedPrefix) + "left-over"), "x");
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = b.list("ls", 2, token);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    EXPECT_LE(page->entries.size(), 2u);
    for (const auto& entry : page->entries) seen.push_back(entry.name);
    token = page->next_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c", "d", "e", "sub"}));
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(b.list("ls/missing", 10, "").error().code, ErrorCode::kNotFound);
  fs::remove(data() / "ls" / (std::string(kReservedPrefix) + "left-over"));
}

// A budget smaller than the tree still reaches every subtree over repeated sweeps.
TEST_F(NfsBackendTest, RepeatedSweepsWithASmallBudgetReachEverySubtree) {
  efsas::testing::expect_repeated_sweeps_reach_every_subtree(*backends_[0], data(), "cov");
}

TEST_F(NfsBackendTest, ListingShowsOnlyFilesAndDirectories) {
  efsas::testing::expect_listing_shows_only_files_and_directories(*backends_[0], data(), "lsk");
}

TEST_F(NfsBackendTest, PagesShowEveryEntryOnceAndChangesBetweenThem) {
  efsas::testing::expect_pages_show_every_entry_once_and_changes_between_them(*backends_[0], data(),
                                                                              "pages");
}

TEST_F(NfsBackendTest, SweepRemovesOnlyOldTempFiles) {
  efsas::testing::expect_sweep_removes_only_old_temp_files(*backends_[0], data(), "sw");
}

TEST_F(NfsBackendTest, AKilledTargetFailsFastWhileOthersServeAndComesBack) {
  ASSERT_TRUE(put(*backends_[0], "kill/f", "content").ok());
  for (auto& backend : backends_) ASSERT_TRUE(backend->probe().ok());
  cluster->kill(1);
  for (int i = 0; i < 5; ++i) {
    const auto start = steady_clock::now();
    EXPECT_FALSE(get(*backends_[1], "kill/f").ok());
    EXPECT_FALSE(backends_[1]->probe().ok());
    EXPECT_LT(steady_clock::now() - start, milliseconds(1000));
    // The other mount targets of the same file system serve the same file meanwhile.
    EXPECT_EQ(*get(*backends_[0], "kill/f"), "content");
    EXPECT_EQ(*get(*backends_[2], "kill/f"), "content");
  }
  cluster->restart(1);
  bool back = false;
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!back && steady_clock::now() < deadline) {
    back = backends_[1]->probe().ok();
    if (!back) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(back);
  EXPECT_EQ(*get(*backends_[1], "kill/f"), "content");
  EXPECT_EQ(count_reserved(data()), 0u);
}

TEST_F(NfsBackendTest, AHungTargetFailsAfterTheTimeoutAndServesAfterResume) {
  auto backend = make_nfs_backend(target(2), options(milliseconds(800)), clock_);
  ASSERT_TRUE(put(*backend, "hang/f", "content").ok());
  cluster->pause(2);
  for (int i = 0; i < 3; ++i) {
    const auto start = steady_clock::now();
    EXPECT_FALSE(backend->stat("hang/f").ok());
    EXPECT_FALSE(put(*backend, "hang/g", "x").ok());
    EXPECT_LT(steady_clock::now() - start, milliseconds(2 * 800 + 700));
  }
  cluster->resume(2);
  bool back = false;
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!back && steady_clock::now() < deadline) {
    back = backend->probe().ok();
    if (!back) std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(back);
  EXPECT_EQ(*get(*backend, "hang/f"), "content");
}

TEST_F(NfsBackendTest, StreamsHoldingEverySessionDoNotFailTheProbe) {
  const std::string big = pattern(100'000, 9);  // above read_whole_limit: streamed
  ASSERT_TRUE(put(*backends_[1], "busy/big", big).ok());
  auto opts = options(milliseconds(500));
  opts.sessions_per_target = 1;
  auto backend = make_nfs_backend(target(1), opts, clock_);
  auto reader = backend->open("busy/big");
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  // The only request session streams to a slow client; requests wait, then give up...
  const auto start = steady_clock::now();
  auto info = backend->stat("busy/big");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kTimeout);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1500));
  // ...but the health probe has a session of its own: the target is busy, not down.
  EXPECT_TRUE(backend->probe().ok());
  EXPECT_TRUE(*read_all(**reader) == big);
  reader->reset();
  EXPECT_TRUE(backend->stat("busy/big").ok());
}

TEST_F(NfsBackendTest, AReaderOutlivesItsBackEnd) {
  const std::string big = pattern(200'000, 5);
  ASSERT_TRUE(put(*backends_[0], "outlive/big", big).ok());
  auto backend = make_nfs_backend(target(0), options(), clock_);
  auto reader = backend->open("outlive/big");
  ASSERT_TRUE(reader.ok());
  backend.reset();  // a new mount-target list dropped this target mid-response
  auto back = read_all(**reader);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(*back == big);
}

}  // namespace
}  // namespace efsas::nfs
