// The router: which mount target serves a path, and in which order callers fail over.
#include "efsas/router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace efsas {
namespace {

const std::vector<std::string> kThree = {"fsmt-0000000a", "fsmt-0000000b", "fsmt-0000000c"};

std::string key(int i) {
  return "projects/p" + std::to_string(i % 97) + "/file-" + std::to_string(i);
}

TEST(RouterTest, EmptyRouterHasNoRankingAndPicksSize) {
  Router router({});
  EXPECT_EQ(router.size(), 0u);
  EXPECT_TRUE(router.rank("a.txt").empty());
  EXPECT_EQ(router.pick("a.txt"), 0u);
}

TEST(RouterTest, SingleTargetServesEverything) {
  Router router({"fsmt-0000000a"});
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(router.pick(key(i)), 0u);
    EXPECT_EQ(router.rank(key(i)), std::vector<std::size_t>{0});
  }
}

TEST(RouterTest, RankIsAFullPermutationHeadedByPick) {
  Router router(kThree);
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::size_t> ranking = router.rank(key(i));
    ASSERT_EQ(ranking.size(), 3u);
    EXPECT_EQ(ranking.front(), router.pick(key(i)));
    std::vector<std::size_t> sorted = ranking;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, (std::vector<std::size_t>{0, 1, 2}));
  }
}

TEST(RouterTest, RankFollowsDescendingRendezvousWeight) {
  Router router(kThree);
  for (int i = 0; i < 200; ++i) {
    std::vector<std::size_t> ranking = router.rank(key(i));
    for (std::size_t r = 1; r < ranking.size(); ++r) {
      EXPECT_GT(rendezvous_weight(kThree[ranking[r - 1]], key(i)),
                rendezvous_weight(kThree[ranking[r]], key(i)));
    }
  }
}

TEST(RouterTest, TargetOrderDoesNotChangeWhichTargetServesAKey) {
  Router forward(kThree);
  Router shuffled({kThree[2], kThree[0], kThree[1]});
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::string> a;
    std::vector<std::string> b;
    for (std::size_t index : forward.rank(key(i))) a.push_back(forward.target_ids()[index]);
    for (std::size_t index : shuffled.rank(key(i))) b.push_back(shuffled.target_ids()[index]);
    EXPECT_EQ(a, b);
  }
}

TEST(RouterTest, LosingTheBestTargetFailsOverToTheSecond) {
  Router router(kThree);
  for (int i = 0; i < 300; ++i) {
    std::vector<std::size_t> ranking = router.rank(key(i));
    std::vector<std::string> remaining;
    for (std::size_t t = 0; t < kThree.size(); ++t) {
      if (t != ranking[0]) remaining.push_back(kThree[t]);
    }
    Router degraded(remaining);
    EXPECT_EQ(degraded.target_ids()[degraded.pick(key(i))], kThree[ranking[1]]);
  }
}

TEST(RouterTest, EveryTargetGetsSomeOfASmallSet) {
  Router router(kThree);
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 300; ++i) ++counts[router.pick(key(i))];
  for (int count : counts) EXPECT_GT(count, 60);
}

// Every file-service instance and every release must route a path to the same target, so the
// hash is part of the on-the-wire contract: these values must never change.
TEST(RouterTest, WeightsAreStableAcrossReleases) {
  EXPECT_EQ(rendezvous_weight("fsmt-0000000a", "a.txt"), 0x829efa73b17dfc88u);
  EXPECT_EQ(rendezvous_weight("fsmt-0123456789abcdef0", "dir/sub/file.bin"), 0xc60a5d6b72fff39eu);
  EXPECT_EQ(rendezvous_weight("", ""), 0x6a5ac309b3703712u);
}

TEST(RouterTest, SimilarKeysAndIdsGetUnrelatedWeights) {
  EXPECT_NE(rendezvous_weight("fsmt-0000000a", "a"), rendezvous_weight("fsmt-0000000a", "b"));
  EXPECT_NE(rendezvous_weight("fsmt-0000000a", "a"), rendezvous_weight("fsmt-0000000b", "a"));
  EXPECT_NE(rendezvous_weight("fsmt-0000000a", "a"),
            rendezvous_weight("fsmt-0000000a", std::string("a\0", 2)));
  EXPECT_NE(rendezvous_weight("x", "y"), rendezvous_weight("y", "x"));
}

TEST(RouterDeathTest, DuplicateTargetIdsAbort) {
  EXPECT_DEATH(Router({"fsmt-0000000a", "fsmt-0000000a"}), "target ids must be unique");
}

}  // namespace
}  // namespace efsas
