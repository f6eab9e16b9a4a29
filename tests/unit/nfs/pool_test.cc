// The pool's reaction to a mount target that cannot be mounted: fail at once while backing off,
// back off exponentially up to the limit, one attempt at a time, from the very first mount on.
// Time is a ManualClock.
#include "efsas/nfs/pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "efsas/clock.h"

namespace efsas::nfs {
namespace {

using std::chrono::milliseconds;

struct FailingConnector {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  // The client name of every attempt (attempts here come from one thread at a time).
  std::shared_ptr<std::vector<std::string>> names = std::make_shared<std::vector<std::string>>();
  Result<std::unique_ptr<Session>> operator()(const SessionOptions& options) const {
    calls->fetch_add(1);
    names->push_back(options.client_name);
    EXPECT_FALSE(options.client_name.empty());
    return make_error(ErrorCode::kUnavailable, "connection refused", true);
  }
};

PoolOptions pool_options() {
  PoolOptions options;
  options.session.server = "127.0.0.9";
  options.session.client_name = "unit";
  options.sessions = 2;
  options.min_backoff = milliseconds(100);
  options.max_backoff = milliseconds(400);
  return options;
}

TEST(SessionPool, ADeadTargetFailsAtOnceWhileBackingOff) {
  auto clock = std::make_shared<ManualClock>();
  FailingConnector connector;
  SessionPool pool(pool_options(), clock, connector);

  auto first = pool.acquire();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(connector.calls->load(), 1);
  EXPECT_TRUE(pool.stats().backing_off);

  // Within the backoff no mount is tried: the caller fails over at once.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(pool.acquire().ok());
  EXPECT_EQ(connector.calls->load(), 1);

  clock->advance(milliseconds(100));
  EXPECT_FALSE(pool.acquire().ok());
  EXPECT_EQ(connector.calls->load(), 2);
  // The backoff doubled: 100 ms later is still too early.
  clock->advance(milliseconds(100));
  EXPECT_FALSE(pool.acquire().ok());
  EXPECT_EQ(connector.calls->load(), 2);
  clock->advance(milliseconds(100));
  EXPECT_FALSE(pool.acquire().ok());
  EXPECT_EQ(connector.calls->load(), 3);
}

// Two pools of one mount target live side by side while requests hold a replaced routing table.
// Their sessions never share an NFSv4 client name: the server would hand one's state to the
// other, and the temporary files named after it would collide.
TEST(SessionPool, TwoPoolsOfOneTargetNeverShareAClientName) {
  FailingConnector connector;
  auto clock = std::make_shared<ManualClock>();
  SessionPool first(pool_options(), clock, connector);
  SessionPool second(pool_options(), clock, connector);
  for (int round = 0; round < 3; ++round) {
    EXPECT_FALSE(first.acquire().ok());
    EXPECT_FALSE(second.acquire().ok());
    clock->advance(milliseconds(500));
  }
  const std::vector<std::string>& names = *connector.names;
  ASSERT_EQ(names.size(), 6u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const auto& name : names) EXPECT_TRUE(name.starts_with("unit-")) << name;
}

TEST(SessionPool, BackoffStopsGrowingAtTheLimit) {
  auto clock = std::make_shared<ManualClock>();
  FailingConnector connector;
  SessionPool pool(pool_options(), clock, connector);
  for (int i = 0; i < 6; ++i) {
    EXPECT_FALSE(pool.acquire().ok());
    clock->advance(milliseconds(400));
  }
  // Every attempt came after at most max_backoff.
  EXPECT_EQ(connector.calls->load(), 6);
  EXPECT_EQ(pool.stats().connect_failures, 6u);
  EXPECT_EQ(pool.stats().connected, 0u);
}

TEST(SessionPool, ReportsItsFailuresInStats) {
  auto clock = std::make_shared<ManualClock>();
  FailingConnector connector;
  SessionPool pool(pool_options(), clock, connector);
  EXPECT_FALSE(pool.acquire().ok());
  const PoolStats stats = pool.stats();
  EXPECT_EQ(stats.connects, 0u);
  EXPECT_EQ(stats.connect_failures, 1u);
  EXPECT_EQ(stats.in_use, 0u);
  pool.maintain();  // nothing connected: nothing to keep alive
  EXPECT_EQ(pool.stats().keep_alives, 0u);
}

// A mount that hangs until the test lets it fail, as against an address that drops SYNs.
struct HangingConnector {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::shared_future<void> released;
  Result<std::unique_ptr<Session>> operator()(const SessionOptions& /*options*/) const {
    calls->fetch_add(1);
    released.wait();
    return make_error(ErrorCode::kTimeout, "mount timed out", true);
  }
};

TEST(SessionPool, ANewPoolMountsOnceBeforeItMountsSideBySide) {
  auto clock = std::make_shared<ManualClock>();
  std::promise<void> release;
  HangingConnector connector{.released = release.get_future().share()};
  SessionPool pool(pool_options(), clock, connector);

  auto first = std::async(std::launch::async, [&] { return pool.acquire(); });
  while (connector.calls->load() == 0) std::this_thread::yield();
  // A second caller while the first mount hangs waits for it instead of dialling too.
  auto second = std::async(std::launch::async, [&] { return pool.acquire(); });
  EXPECT_EQ(second.wait_for(milliseconds(100)), std::future_status::timeout);
  release.set_value();

  const auto first_result = first.get();
  const auto second_result = second.get();
  ASSERT_FALSE(first_result.ok());
  ASSERT_FALSE(second_result.ok());
  EXPECT_EQ(first_result.error().code, ErrorCode::kTimeout);
  // The second fails over at once: the target is down, and it never mounted.
  EXPECT_EQ(second_result.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(connector.calls->load(), 1);
  EXPECT_EQ(pool.stats().connect_failures, 1u);
}

TEST(SessionPool, ACallerWaitsForANewPoolsFirstMountNoLongerThanTheTimeout) {
  auto clock = std::make_shared<ManualClock>();
  std::promise<void> release;
  HangingConnector connector{.released = release.get_future().share()};
  PoolOptions options = pool_options();
  options.session.timeout = milliseconds(50);
  SessionPool pool(options, clock, connector);

  auto first = std::async(std::launch::async, [&] { return pool.acquire(); });
  while (connector.calls->load() == 0) std::this_thread::yield();
  auto second = std::async(std::launch::async, [&] { return pool.acquire(); });
  // It gives up after the timeout although the first mount still hangs.
  EXPECT_EQ(second.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(connector.calls->load(), 1);
  release.set_value();
  EXPECT_FALSE(first.get().ok());
  const auto second_result = second.get();
  ASSERT_FALSE(second_result.ok());
  EXPECT_EQ(second_result.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second_result.error().message.find("first mount"), std::string::npos)
      << second_result.error().message;
}

}  // namespace
}  // namespace efsas::nfs
