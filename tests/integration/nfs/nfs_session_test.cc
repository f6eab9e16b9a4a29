// Each known problem of libnfs 4.0's NFSv4 client, checked against real nfs-ganesha servers
// through the session and pool wrappers: chunked writes, replace and create-only puts, reading
// through another mount target, errors, concurrency, and a killed or hung server.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "efsas/clock.h"
#include "efsas/nfs/pool.h"
#include "efsas/nfs/session.h"
#include "efsas/testing/ganesha.h"
#include "efsas/testing/process.h"
#include "efsas/testing/silent_listener.h"
#include "session_reads.h"

namespace efsas::nfs {
namespace {

using efsas::testing::GaneshaCluster;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

GaneshaCluster* cluster = nullptr;

std::string pattern(std::size_t size, unsigned seed) {
  std::string out(size, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

SessionOptions options_for(std::size_t instance, const std::string& name,
                           milliseconds timeout = milliseconds(3000)) {
  SessionOptions options;
  options.server = cluster->address(instance);
  options.client_name = "efsas-test-" + std::to_string(::getpid()) + "-" + name;
  options.timeout = timeout;
  return options;
}

std::unique_ptr<Session> connect(std::size_t instance, const std::string& name) {
  auto session = Session::connect(options_for(instance, name));
  EXPECT_TRUE(session.ok()) << (session.ok() ? "" : session.error().to_string());
  if (!session.ok()) std::abort();
  return std::move(session).value();
}

// A pool of `sessions` on server `instance` whose calls use the NFS identity `uid` (user and
// group), not the test's root: one the file system's modes can refuse.
PoolOptions pool_as(int uid, std::size_t instance, const std::string& name, std::size_t sessions) {
  PoolOptions options;
  options.session = options_for(instance, name);
  options.session.uid = uid;
  options.session.gid = uid;
  options.sessions = sessions;
  return options;
}

// A body of two buffers' worth of 'x' that kills server `instance` before handing over its second:
// the put's first WRITEs went through, the next ones meet a dead connection.
BodyReader body_killing_server(std::size_t instance) {
  auto pieces = std::make_shared<int>(0);
  return [pieces, instance](std::span<char> buffer) -> Result<std::size_t> {
    if (++*pieces == 3) return std::size_t{0};
    if (*pieces == 2) cluster->kill(instance);
    std::fill_n(buffer.data(), buffer.size(), 'x');
    return buffer.size();
  };
}

bool has_temp_files(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().filename().string().starts_with(".efsas-put-")) return true;
  }
  return false;
}

class NfsSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster = new GaneshaCluster(); }
  static void TearDownTestSuite() {
    delete cluster;
    cluster = nullptr;
  }
  void SetUp() override { cluster->serve_all(); }
};

TEST_F(NfsSessionTest, WritesAroundAndFarAboveTheEncodingLimitReadBackIdentical) {
  auto session = connect(0, "sizes");
  const std::vector<std::size_t> sizes = {
      0,    1,     kMaxWriteChunk - 1, kMaxWriteChunk, kMaxWriteChunk + 1, 3943, 3944, 3945,
      7888, 65543, (1u << 20) + 13,    (3u << 20) + 1};
  for (std::size_t size : sizes) {
    const std::string name = "sizes/f" + std::to_string(size);
    const std::string data = pattern(size, static_cast<unsigned>(size));
    auto put = session->put(name, data, PutMode::kReplace);
    ASSERT_TRUE(put.ok()) << size << ": " << put.error().to_string();
    EXPECT_EQ(put->info.size, size);
    auto back = read_all(*session, name);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_TRUE(*back == data) << "size " << size << " read back " << back->size() << " bytes";
    // And the server's disk holds exactly those bytes.
    EXPECT_TRUE(efsas::testing::read_file(cluster->export_dir() / name) == data) << size;
  }
  EXPECT_FALSE(has_temp_files(cluster->export_dir()));
  EXPECT_FALSE(session->broken());
}

TEST_F(NfsSessionTest, PutOverAnExistingFileReplacesIt) {
  auto session = connect(0, "replace");
  auto first =
      session->put("replace/x.txt", "first version, longer than the second", PutMode::kReplace);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_FALSE(first->replaced);
  // libnfs 4.0 fails O_CREAT on an existing name; the put must still replace it.
  auto second = session->put("replace/x.txt", "second", PutMode::kReplace);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_TRUE(second->replaced);
  EXPECT_EQ(*read_all(*session, "replace/x.txt"), "second");

  auto refused = session->put("replace/x.txt", "third", PutMode::kCreateOnly);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(*read_all(*session, "replace/x.txt"), "second");
  auto created = session->put("replace/y.txt", "new", PutMode::kCreateOnly);
  ASSERT_TRUE(created.ok()) << created.error().to_string();
  EXPECT_EQ(*read_all(*session, "replace/y.txt"), "new");
  EXPECT_FALSE(has_temp_files(cluster->export_dir()));
  // A failed exclusive create must not break the context's open sequence.
  EXPECT_FALSE(session->broken());
  EXPECT_TRUE(session->put("replace/z.txt", "after", PutMode::kReplace).ok());
}

TEST_F(NfsSessionTest, AFileWrittenThroughOneTargetReadsBackThroughEachOther) {
  std::vector<std::unique_ptr<Session>> sessions;
  for (std::size_t i = 0; i < cluster->size(); ++i) sessions.push_back(connect(i, "cross"));
  for (std::size_t writer = 0; writer < sessions.size(); ++writer) {
    const std::string name = "cross/from" + std::to_string(writer);
    for (int version = 0; version < 2; ++version) {
      const std::string data =
          pattern(5000 + static_cast<std::size_t>(version) * 777,
                  static_cast<unsigned>(writer * 10 + static_cast<std::size_t>(version)));
      ASSERT_TRUE(sessions[writer]->put(name, data, PutMode::kReplace).ok());
      for (std::size_t reader = 0; reader < sessions.size(); ++reader) {
        // Attributes are not cached on the servers: every target sees the new size at once.
        auto info = sessions[reader]->stat(name);
        ASSERT_TRUE(info.ok()) << info.error().to_string();
        EXPECT_EQ(info->size, data.size()) << "writer " << writer << " reader " << reader;
        auto back = read_all(*sessions[reader], name);
        ASSERT_TRUE(back.ok()) << back.error().to_string();
        EXPECT_TRUE(*back == data) << "writer " << writer << " reader " << reader;
      }
    }
  }
  ASSERT_TRUE(sessions[0]->remove("cross/from1").ok());
  for (auto& session : sessions) {
    auto gone = session->stat("cross/from1");
    ASSERT_FALSE(gone.ok());
    EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  }
}

TEST_F(NfsSessionTest, NfsErrorsBecomeErrorCodesAndLeaveTheSessionUsable) {
  auto session = connect(1, "errors");
  ASSERT_TRUE(session->put("errors/dir/file", "x", PutMode::kReplace).ok());

  auto missing = session->stat("errors/nothing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto missing_open = session->open_read("errors/nothing");
  ASSERT_FALSE(missing_open.ok());
  EXPECT_EQ(missing_open.error().code, ErrorCode::kNotFound);
  auto open_dir = session->open_read("errors/dir");
  ASSERT_FALSE(open_dir.ok());
  EXPECT_EQ(open_dir.error().code, ErrorCode::kConflict);
  auto list_file = session->list("errors/dir/file");
  ASSERT_FALSE(list_file.ok());
  EXPECT_EQ(list_file.error().code, ErrorCode::kConflict);
  auto put_over_dir = session->put("errors/dir", "x", PutMode::kReplace);
  ASSERT_FALSE(put_over_dir.ok());
  EXPECT_EQ(put_over_dir.error().code, ErrorCode::kConflict);
  auto remove_missing = session->remove("errors/nothing");
  ASSERT_FALSE(remove_missing.ok());
  EXPECT_EQ(remove_missing.error().code, ErrorCode::kNotFound);
  auto remove_dir = session->remove("errors/dir");
  ASSERT_FALSE(remove_dir.ok());
  EXPECT_EQ(remove_dir.error().code, ErrorCode::kConflict);

  EXPECT_FALSE(session->broken());
  EXPECT_EQ(*read_all(*session, "errors/dir/file"), "x");

  // A create the server refuses in its OPEN (here under a name that is a file) costs the session
  // (nfs_seqid_test says why); the error is still the one the server gave.
  auto under_file = session->put("errors/dir/file/child", "x", PutMode::kReplace);
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(session->broken());
  EXPECT_FALSE(has_temp_files(cluster->export_dir()));
}

TEST_F(NfsSessionTest, ListingIsSortedAndParentsAreCreated) {
  auto session = connect(2, "list");
  ASSERT_TRUE(session->make_directories("list/a/b/c").ok());
  ASSERT_TRUE(session->make_directories("list/a/b/c").ok());  // existing is fine
  for (const char* name : {"list/zeta", "list/alpha", "list/Mid", "list/deep/er/file"}) {
    ASSERT_TRUE(session->put(name, name, PutMode::kReplace).ok()) << name;
  }
  auto entries = session->list("list");
  ASSERT_TRUE(entries.ok()) << entries.error().to_string();
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.name + (e.is_directory ? "/" : ""));
  EXPECT_EQ(names, (std::vector<std::string>{"Mid", "a/", "alpha", "deep/", "zeta"}));
  EXPECT_TRUE(std::filesystem::is_directory(cluster->export_dir() / "list/a/b/c"));
}

TEST_F(NfsSessionTest, ManySessionsFromManyThreadsAcrossAllTargets) {
  auto clock = std::make_shared<RealClock>();
  std::vector<std::unique_ptr<SessionPool>> pools;
  for (std::size_t i = 0; i < cluster->size(); ++i) {
    PoolOptions options;
    options.session = options_for(i, "pool" + std::to_string(i));
    options.sessions = 4;
    pools.push_back(std::make_unique<SessionPool>(options, clock));
  }
  constexpr int kThreads = 12;
  constexpr int kRounds = 25;
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const std::string name = "many/t" + std::to_string(t) + "/f" + std::to_string(r % 5);
        const std::string data = pattern(static_cast<std::size_t>(100 + r * 997 + t),
                                         static_cast<unsigned>(t * 1000 + r));
        auto& writer = *pools[static_cast<std::size_t>(r + t) % pools.size()];
        auto& reader = *pools[static_cast<std::size_t>(r + t + 1) % pools.size()];
        bool ok = false;
        {
          auto lease = writer.acquire();
          if (lease.ok()) {
            auto put = (*lease)->put(name, data, PutMode::kReplace);
            if (!put.ok()) errors[static_cast<std::size_t>(t)] = put.error().to_string();
            ok = put.ok();
          } else {
            errors[static_cast<std::size_t>(t)] = lease.error().to_string();
          }
        }
        if (ok) {
          auto lease = reader.acquire();
          auto back = lease.ok() ? read_all(**lease, name) : Result<std::string>(lease.error());
          ok = back.ok() && *back == data;
          if (!ok)
            errors[static_cast<std::size_t>(t)] = back.ok() ? "content" : back.error().to_string();
        }
        if (!ok) failures.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (const auto& e : errors) EXPECT_EQ(e, "");
  for (const auto& pool : pools) {
    const PoolStats stats = pool->stats();
    EXPECT_EQ(stats.broken, 0u);
    EXPECT_LE(stats.connected, 4u);
    EXPECT_GE(stats.connected, 1u);
  }
}

// Callers that find every session busy each wait for one, up to the call timeout: a release
// wakes them all but serves one, and the others wait on instead of failing over at once.
TEST_F(NfsSessionTest, CallersWaitingForABusyPoolAreEachServedInTurn) {
  PoolOptions options;
  options.session = options_for(0, "busy", milliseconds(3000));
  options.sessions = 1;
  SessionPool pool(options, std::make_shared<RealClock>());
  auto held = pool.acquire();
  ASSERT_TRUE(held.ok()) << held.error().to_string();
  constexpr int kWaiters = 4;
  std::vector<std::string> outcomes(kWaiters);
  std::vector<std::thread> waiters;
  for (int w = 0; w < kWaiters; ++w) {
    waiters.emplace_back([&pool, &outcomes, w] {
      auto lease = pool.acquire();
      if (!lease.ok()) {
        outcomes[static_cast<std::size_t>(w)] = lease.error().to_string();
        return;
      }
      auto stat = (*lease)->stat("");
      outcomes[static_cast<std::size_t>(w)] = stat.ok() ? "served" : stat.error().to_string();
      std::this_thread::sleep_for(milliseconds(30));  // holds it a little, as a request would
    });
  }
  std::this_thread::sleep_for(milliseconds(200));  // all of them waiting now
  { const SessionLease done = std::move(held).value(); }
  for (auto& t : waiters) t.join();
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome, "served");
  EXPECT_EQ(pool.stats().connects, 1u);
}

// A session mounted before a server restart that fails only after the pool has mounted again
// (a call that was slow to fail) leaves the new sessions alone: they are not dropped and the
// target is not marked failed again.
TEST_F(NfsSessionTest, AStaleSessionFailingAfterARemountLeavesTheNewSessionsAlone) {
  PoolOptions options;
  options.session = options_for(2, "stale", milliseconds(3000));
  options.sessions = 2;
  options.min_backoff = milliseconds(50);
  SessionPool pool(options, std::make_shared<RealClock>());
  auto first = pool.acquire();
  auto second = pool.acquire();
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE((*first)->put("stale/f", "x", PutMode::kReplace).ok());
  cluster->kill(2);
  EXPECT_FALSE((*first)->stat("stale/f").ok());
  { const SessionLease broken = std::move(first).value(); }  // the pool drops its sessions
  cluster->restart(2);
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  std::uint64_t connects = 0;
  while (steady_clock::now() < deadline) {
    auto lease = pool.acquire();
    if (lease.ok() && (*lease)->stat("stale/f").ok()) {
      connects = pool.stats().connects;
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_GT(connects, 0u) << "the pool did not mount again after the restart";
  // The session from before the restart fails now, and is given back.
  EXPECT_FALSE((*second)->stat("stale/f").ok());
  { const SessionLease stale = std::move(second).value(); }
  auto again = pool.acquire();
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE((*again)->stat("stale/f").ok());
  EXPECT_EQ(pool.stats().connects, connects) << "the new session was dropped and mounted again";
  EXPECT_FALSE(pool.stats().backing_off);
}

// A put whose server dies mid-write leaves its temporary file behind: the broken session cannot
// remove it. The pool keeps its name and, once the server is back, removes it through a working
// session on its next maintenance round, instead of leaving it to the sweep for an hour.
TEST_F(NfsSessionTest, ATemporaryFileLeftByADeadConnectionIsRemovedOnceTheServerIsBack) {
  PoolOptions options;
  options.session = options_for(1, "left-behind", milliseconds(3000));
  options.sessions = 1;
  options.min_backoff = milliseconds(50);
  SessionPool pool(options, std::make_shared<RealClock>());
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease.ok()) << lease.error().to_string();
    ASSERT_FALSE((*lease)->put("left/f", body_killing_server(1), PutMode::kReplace).ok());
  }
  EXPECT_TRUE(has_temp_files(cluster->export_dir() / "left"));
  EXPECT_EQ(pool.stats().left_behind, 1u);
  pool.maintain();  // no session works yet: the name is kept
  EXPECT_EQ(pool.stats().left_behind, 1u);

  cluster->restart(1);
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (steady_clock::now() < deadline && !pool.acquire().ok()) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  pool.maintain();
  EXPECT_FALSE(has_temp_files(cluster->export_dir() / "left"));
  EXPECT_EQ(pool.stats().left_behind, 0u);
  EXPECT_EQ(pool.stats().left_behind_removed, 1u);
  EXPECT_FALSE(std::filesystem::exists(cluster->export_dir() / "left/f"));
}

TEST_F(NfsSessionTest, AKilledServerFailsCallsFastAndThePoolRecoversAfterRestart) {
  PoolOptions options;
  options.session = options_for(1, "kill", milliseconds(3000));
  options.sessions = 2;
  options.min_backoff = milliseconds(50);
  options.max_backoff = milliseconds(400);
  SessionPool pool(options, std::make_shared<RealClock>());
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease.ok()) << lease.error().to_string();
    ASSERT_TRUE((*lease)->put("kill/f", "before", PutMode::kReplace).ok());
  }
  cluster->kill(1);
  for (int i = 0; i < 5; ++i) {
    const auto start = steady_clock::now();
    auto lease = pool.acquire();
    const bool served = lease.ok() && (*lease)->stat("kill/f").ok();
    const auto took = steady_clock::now() - start;
    EXPECT_FALSE(served) << "call " << i << " succeeded against a dead server";
    EXPECT_LT(took, milliseconds(1000)) << "call " << i << " did not fail fast";
  }
  EXPECT_GE(pool.stats().broken + pool.stats().connect_failures, 1u);

  cluster->restart(1);
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  bool recovered = false;
  while (!recovered && steady_clock::now() < deadline) {
    auto lease = pool.acquire();
    if (lease.ok()) {
      auto back = read_all(**lease, "kill/f");
      recovered = back.ok() && *back == "before";
    }
    if (!recovered) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(recovered) << "the pool did not re-mount after the server came back";
}

// Fills the stack below the caller with bytes that are no valid pointer, as a thread's later
// calls leave the frames of the calls it made before.
[[gnu::noinline]] void scribble_stack() {
  volatile unsigned char junk[64 * 1024];
  for (auto& byte : junk) byte = 0xA5;
}

// Lets go of `session` from 32 KB further down the stack, so that what it runs there leaves the
// scribbled frames of earlier calls as they are.
[[gnu::noinline]] void reset_deep(std::unique_ptr<Session>& session) {
  volatile unsigned char pad[32 * 1024];
  pad[0] = 1;
  session.reset();
  pad[1] = pad[0];
}

// A call cut off by a dead connection: libnfs 4.0's synchronous call then returns with its request
// still queued, its callback pointing into the call's stack frame, which is gone. Destroying the
// context cancelled that request and ran the callback on whatever the stack held by then (a READ's
// callback reads a string pointer there): the process died in strlen, as file-service did when a
// mount target was killed under load. Here the server is stopped, a READ waits on it, and the
// server is killed: the READ fails with the dead connection, and letting go of the session
// afterwards is safe.
TEST_F(NfsSessionTest, ACallCutOffByADeadConnectionLeavesNothingBehindToCrashOn) {
  auto session = connect(1, "cut-off");
  ASSERT_TRUE(session->put("cut/f", std::string(100'000, 'c'), PutMode::kReplace).ok());
  {
    auto file = session->open_read("cut/f");
    ASSERT_TRUE(file.ok()) << file.error().to_string();
    cluster->pause(1);
    std::thread killer([] {
      std::this_thread::sleep_for(milliseconds(300));
      cluster->kill(1);
    });
    std::vector<char> buffer(50'000);
    const auto read = file->read_at(0, buffer);
    killer.join();
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().code, ErrorCode::kUnavailable) << read.error().to_string();
    EXPECT_TRUE(session->broken());
  }  // the file goes without a CLOSE: the session is broken
  scribble_stack();
  reset_deep(session);
  EXPECT_EQ(session, nullptr);
}

// A create that times out may still reach the server, which makes the temporary file once it
// answers again. The session keeps the name, and a working session removes it; and a session
// given up fails its next calls at once instead of waiting on the hung server again.
TEST_F(NfsSessionTest, ACreateThatTimedOutLeavesItsNameForRemovalAndTheSessionFailsFast) {
  auto session = Session::connect(options_for(2, "create-timeout", milliseconds(500)));
  ASSERT_TRUE(session.ok()) << session.error().to_string();
  std::filesystem::create_directories(cluster->export_dir() / "late");
  cluster->pause(2);
  auto put = (*session)->put("late/f", "x", PutMode::kReplace);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, ErrorCode::kTimeout) << put.error().to_string();
  EXPECT_TRUE((*session)->broken());
  const auto start = steady_clock::now();
  auto again = (*session)->stat("late");
  EXPECT_FALSE(again.ok());
  EXPECT_LT(steady_clock::now() - start, milliseconds(100));
  auto left = (*session)->take_left_behind();
  ASSERT_EQ(left.size(), 1u);

  cluster->resume(2);
  // The server makes the file once it reads the create.
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (steady_clock::now() < deadline && !has_temp_files(cluster->export_dir() / "late")) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(has_temp_files(cluster->export_dir() / "late"));
  auto fresh = connect(2, "create-timeout-after");
  std::size_t removed = 0;
  EXPECT_TRUE(fresh->remove_left_behind(left, removed).empty());
  EXPECT_EQ(removed, 1u);
  EXPECT_FALSE(has_temp_files(cluster->export_dir() / "late"));
}

TEST_F(NfsSessionTest, AHungServerFailsCallsAfterTheTimeoutAndWorksAgainAfterResume) {
  PoolOptions options;
  options.session = options_for(2, "hang", milliseconds(1000));
  options.sessions = 2;
  options.min_backoff = milliseconds(50);
  options.max_backoff = milliseconds(400);
  SessionPool pool(options, std::make_shared<RealClock>());
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease.ok()) << lease.error().to_string();
    ASSERT_TRUE((*lease)->put("hang/f", "data", PutMode::kReplace).ok());
  }
  cluster->pause(2);
  {
    const auto start = steady_clock::now();
    auto lease = pool.acquire();
    ASSERT_TRUE(lease.ok());  // an idle session is there; the server's silence shows on use
    auto info = (*lease)->stat("hang/f");
    const auto took = steady_clock::now() - start;
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().code, ErrorCode::kTimeout);
    EXPECT_GE(took, milliseconds(900));
    EXPECT_LT(took, milliseconds(2500));
  }
  // Pipelined writes time out too: a large put to the hung server fails, it does not hang.
  {
    const auto start = steady_clock::now();
    auto lease = pool.acquire();
    if (lease.ok()) {
      EXPECT_FALSE((*lease)->put("hang/big", pattern(1 << 20, 3), PutMode::kReplace).ok());
    }
    EXPECT_LT(steady_clock::now() - start, milliseconds(2500));
  }
  // Later calls never hang either: each fails within about one timeout.
  for (int i = 0; i < 3; ++i) {
    const auto start = steady_clock::now();
    auto lease = pool.acquire();
    if (lease.ok()) {
      EXPECT_FALSE((*lease)->stat("hang/f").ok());
    }
    EXPECT_LT(steady_clock::now() - start, milliseconds(2500));
  }
  cluster->resume(2);
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  bool recovered = false;
  while (!recovered && steady_clock::now() < deadline) {
    auto lease = pool.acquire();
    if (lease.ok()) {
      auto back = read_all(**lease, "hang/f");
      recovered = back.ok() && *back == "data";
    }
    if (!recovered) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(recovered) << "calls did not work again after SIGCONT";
}

TEST_F(NfsSessionTest, AMountToAnAddressThatDropsConnectionsFailsWithinTheTimeout) {
  testing::SilentListener silent(testing::SilentListener::Kind::kDropsConnections, "127.0.0.9",
                                 2049);
  if (!silent.error().empty()) GTEST_SKIP() << silent.error();
  SessionOptions options;
  options.server = "127.0.0.9";
  options.client_name = "efsas-test-" + std::to_string(::getpid()) + "-silent";
  options.timeout = milliseconds(1000);
  const auto start = steady_clock::now();
  auto session = Session::connect(options);
  const auto took = steady_clock::now() - start;
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.error().code, ErrorCode::kTimeout) << session.error().to_string();
  EXPECT_TRUE(session.error().retryable);
  EXPECT_LT(took, milliseconds(2500));
}

// A refused OPEN (here a read the file's mode forbids) spends its session alone: the server is
// fine, so the pool keeps its other sessions and does not hold back new mounts, as it would
// after a dead connection.
TEST_F(NfsSessionTest, ARefusedOpenRetiresItsSessionAloneNotThePool) {
  constexpr int kUid = 4321;
  testing::write_file(cluster->export_dir() / "private-read", "root's");
  ASSERT_EQ(::chmod((cluster->export_dir() / "private-read").c_str(), 0600), 0);
  SessionPool pool(pool_as(kUid, 0, "spent", 2), std::make_shared<RealClock>());
  {
    auto first = pool.acquire();
    auto second = pool.acquire();
    ASSERT_TRUE(first.ok() && second.ok());
  }
  ASSERT_EQ(pool.stats().connects, 2u);
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease.ok());
    auto refused = (*lease)->open_read("private-read");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied) << refused.error().to_string();
    EXPECT_TRUE((*lease)->spent());
  }
  EXPECT_EQ(pool.stats().spent, 1u);
  EXPECT_EQ(pool.stats().broken, 0u);
  EXPECT_FALSE(pool.stats().backing_off);
  EXPECT_EQ(pool.stats().connected, 1u);  // the other session stays
  auto next = pool.acquire();
  ASSERT_TRUE(next.ok()) << next.error().to_string();
  EXPECT_TRUE((*next)->stat("private-read").ok());
  EXPECT_EQ(pool.stats().connects, 2u);  // served by the session that stayed
}

// A healthy session whose REMOVE of a failed put's temporary file is refused keeps the name too:
// the pool takes it when the session comes back, and removes it on a later round. Here the put's
// directory turns read-only under a client that is not root, then writable again.
TEST_F(NfsSessionTest, ATemporaryFileAHealthySessionCouldNotRemoveIsRemovedLater) {
  constexpr int kUid = 4321;
  const auto dir = cluster->export_dir() / "refused-remove";
  std::filesystem::create_directories(dir);
  ASSERT_EQ(::chown(dir.c_str(), kUid, kUid), 0);
  SessionPool pool(pool_as(kUid, 0, "refused-remove", 1), std::make_shared<RealClock>());
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease.ok()) << lease.error().to_string();
    const BodyReader fails_after_locking_the_directory = [&](std::span<char>) {
      std::filesystem::permissions(dir, std::filesystem::perms(0555));
      return Result<std::size_t>(make_error(ErrorCode::kIo, "client went away"));
    };
    ASSERT_FALSE((*lease)
                     ->put("refused-remove/f", fails_after_locking_the_directory, PutMode::kReplace)
                     .ok());
    EXPECT_FALSE((*lease)->broken());
  }
  EXPECT_TRUE(has_temp_files(dir));
  EXPECT_EQ(pool.stats().left_behind, 1u);

  std::filesystem::permissions(dir, std::filesystem::perms(0755));
  pool.maintain();
  EXPECT_FALSE(has_temp_files(dir));
  EXPECT_EQ(pool.stats().left_behind_removed, 1u);
}

// libnfs caches the listing of every closed directory unless told not to, and over NFSv4 never
// reads it back: listing a directory again and again must not keep its entries.
TEST_F(NfsSessionTest, ListingsLeaveNothingBehindInTheSession) {
  auto session = connect(0, "dircache");
  std::filesystem::create_directories(cluster->export_dir() / "dircache");
  for (int i = 0; i < 2000; ++i) {
    const std::string name = "dircache/f" + std::to_string(i);
    testing::write_file(cluster->export_dir() / name, "x");
  }
  ASSERT_TRUE(session->list("dircache").ok());
  const std::size_t before = ::mallinfo2().uordblks;
  for (int round = 0; round < 40; ++round) {
    auto entries = session->list("dircache");
    ASSERT_TRUE(entries.ok()) << entries.error().to_string();
    ASSERT_EQ(entries->size(), 2000u);
  }
  const std::size_t after = ::mallinfo2().uordblks;
  // 40 cached listings of 2,000 entries would hold about 16 MB.
  EXPECT_LT(after, before + (2u << 20)) << "heap grew by " << (after - before) << " bytes";
}

// A put whose server dies between two pieces of its body fails as the lost connection it is,
// whatever an earlier call left in libnfs's error text: here a NOENT, which once made the put a
// 404 and left the dead session in the pool.
TEST_F(NfsSessionTest, AServerDyingMidPutFailsAsUnavailableNotAsAnEarlierError) {
  auto session = connect(1, "dies-mid-put");
  const auto missing = session->stat("no/such/file");
  ASSERT_FALSE(missing.ok());
  ASSERT_EQ(missing.error().code, ErrorCode::kNotFound);
  const auto put = session->put("dies/f", body_killing_server(1), PutMode::kReplace);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, ErrorCode::kUnavailable) << put.error().to_string();
  EXPECT_TRUE(session->broken());
}

// A call of many requests lasts as long as the server keeps answering: a listing of 5,000 names
// (dozens of READDIR pages) through a server that stalls for 90 ms out of every 95 takes far
// longer than the session's timeout and its grace together, though no request waits long.
TEST_F(NfsSessionTest, AListingOfManyPagesFromASlowServerIsNotCutShort) {
  auto session = Session::connect(options_for(2, "slow-list", milliseconds(500)));
  ASSERT_TRUE(session.ok()) << session.error().to_string();
  std::filesystem::create_directories(cluster->export_dir() / "slowlist");
  for (int i = 0; i < 5'000; ++i) {
    testing::write_file(cluster->export_dir() / ("slowlist/f" + std::to_string(i)), "");
  }
  std::atomic<bool> listed{false};
  std::thread staller([&] {
    while (!listed) {
      cluster->pause(2);
      std::this_thread::sleep_for(milliseconds(90));
      cluster->resume(2);
      std::this_thread::sleep_for(milliseconds(5));
    }
  });
  const auto start = steady_clock::now();
  auto entries = (*session)->list("slowlist");
  const auto took = steady_clock::now() - start;
  listed = true;
  staller.join();
  ASSERT_TRUE(entries.ok()) << entries.error().to_string();
  EXPECT_EQ(entries->size(), 5'000u);
  EXPECT_FALSE((*session)->broken());
  // Otherwise the server was not slow enough to show anything: the call's backstop is 1 s.
  EXPECT_GT(took, milliseconds(2000));
}

}  // namespace
}  // namespace efsas::nfs
