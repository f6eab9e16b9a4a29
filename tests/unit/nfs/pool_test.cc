// The pool's reaction to a mount target that cannot be mounted: fail at once while backing off,
// back off exponentially up to the limit, one attempt at a time. Time is a ManualClock.
#include "efsas/nfs/pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "efsas/clock.h"

namespace efsas::nfs {
namespace {

using std::chrono::milliseconds;

struct FailingConnector {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  Result<std::unique_ptr<Session>> operator()(const SessionOptions& options) const {
    calls->fetch_add(1);
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

}  // namespace
}  // namespace efsas::nfs
