// libnfs 4.0 never renews an NFSv4 lease: an idle session's next OPEN fails with
// NFS4ERR_EXPIRED. Against ganesha servers with a 3-second lease, the pool's keep-alive keeps
// idle sessions usable, and a session whose lease did expire is replaced on the next call.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "efsas/clock.h"
#include "efsas/nfs/pool.h"
#include "efsas/nfs/session.h"
#include "efsas/testing/ganesha.h"

namespace efsas::nfs {
namespace {

using efsas::testing::GaneshaCluster;
using efsas::testing::GaneshaOptions;
using std::chrono::milliseconds;

constexpr std::chrono::seconds kLease{3};

SessionOptions options_for(const GaneshaCluster& cluster, const std::string& name) {
  SessionOptions options;
  options.server = cluster.address(0);
  options.client_name = "efsas-lease-test-" + std::to_string(::getpid()) + "-" + name;
  options.timeout = milliseconds(3000);
  return options;
}

// Ganesha reaps expired clients on its own schedule; wait well past the lease.
void sleep_past_lease() { std::this_thread::sleep_for(kLease * 3 + std::chrono::seconds(1)); }

TEST(NfsLeaseTest, AnIdleSessionLosesItsLeaseWithoutKeepAlive) {
  GaneshaOptions cluster_options;
  cluster_options.instances = 1;
  cluster_options.lease_lifetime = kLease;
  GaneshaCluster cluster(cluster_options);
  auto session = Session::connect(options_for(cluster, "bare"));
  ASSERT_TRUE(session.ok()) << session.error().to_string();
  ASSERT_TRUE((*session)->put("f", "x", PutMode::kReplace).ok());
  sleep_past_lease();
  // A stat carries no client state and still works; an OPEN does not.
  EXPECT_TRUE((*session)->stat("f").ok());
  auto opened = (*session)->open_read("f");
  ASSERT_FALSE(opened.ok()) << "the lease did not expire: this test shows nothing";
  EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable) << opened.error().to_string();
  EXPECT_TRUE((*session)->broken());
}

TEST(NfsLeaseTest, KeepAliveKeepsIdleSessionsUsableAndExpiredOnesAreReplaced) {
  GaneshaOptions cluster_options;
  cluster_options.instances = 1;
  cluster_options.lease_lifetime = kLease;
  GaneshaCluster cluster(cluster_options);
  auto clock = std::make_shared<RealClock>();
  PoolOptions options;
  options.session = options_for(cluster, "pool");
  options.sessions = 2;
  options.keep_alive_interval = milliseconds(1000);
  SessionPool pool(options, clock);
  {
    // Mount both sessions: hold one while taking the other.
    auto a = pool.acquire();
    auto b = pool.acquire();
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*a)->put("g", "y", PutMode::kReplace).ok());
  }
  const auto until = std::chrono::steady_clock::now() + kLease * 3 + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < until) {
    pool.maintain();
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_GE(pool.stats().keep_alives, 4u);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    ASSERT_TRUE(a.ok() && b.ok());
    for (auto* lease : {&*a, &*b}) {
      auto file = (*lease)->open_read("g");
      EXPECT_TRUE(file.ok()) << file.error().to_string();
    }
  }
  EXPECT_EQ(pool.stats().broken, 0u);

  // Without maintain() the leases lapse; the failed call is reported as retryable, and the
  // next acquire brings a fresh session.
  sleep_past_lease();
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease.ok());
    auto file = (*lease)->open_read("g");
    ASSERT_FALSE(file.ok());
    EXPECT_TRUE(file.error().retryable);
  }
  auto lease = pool.acquire();
  ASSERT_TRUE(lease.ok()) << lease.error().to_string();
  auto file = (*lease)->open_read("g");
  EXPECT_TRUE(file.ok()) << file.error().to_string();
  EXPECT_EQ(pool.stats().broken, 1u);
}

}  // namespace
}  // namespace efsas::nfs
