// Properties of rendezvous routing over 100k keys: deterministic, balanced, and minimal movement
// when a mount target is added or removed.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "efsas/router.h"
#include "property_support.h"

namespace efsas {
namespace {

constexpr int kKeys = 100'000;
// "Within a few percent": a target's share may differ from its fair share by this fraction of
// that share. Sampling noise over 100k keys is under 1% (one standard deviation) for 9 targets.
constexpr double kTolerance = 0.05;
// Each case routes 100k keys for several target counts; a few cases cover the property well.
constexpr int kHeavyCases = 4;

std::string hex_id(std::uint64_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "fsmt-%017llx", static_cast<unsigned long long>(value));
  return buffer;
}

// `count` distinct mount target ids, either consecutive (as a region hands them out, differing in
// the last digits only) or scattered.
std::vector<std::string> gen_target_ids(std::size_t count) {
  const auto base = *rc::gen::arbitrary<std::uint64_t>();
  const bool consecutive = *rc::gen::arbitrary<bool>();
  std::vector<std::string> ids;
  for (std::uint64_t i = 0; i < count; ++i) {
    ids.push_back(hex_id(consecutive ? base + i : base ^ (i * 0x9e3779b97f4a7c15ULL)));
  }
  return ids;
}

// Realistic keys: normalised paths sharing a prefix and differing in a counter.
std::vector<std::string> make_keys(const std::string& prefix) {
  std::vector<std::string> keys;
  keys.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back(prefix + "dir" + std::to_string(i % 100) + "/file-" + std::to_string(i));
  }
  return keys;
}

// The id of the target each key goes to.
std::vector<std::string> route_all(const Router& router, const std::vector<std::string>& keys) {
  std::vector<std::string> owners;
  owners.reserve(keys.size());
  for (const std::string& key : keys) owners.push_back(router.target_ids()[router.pick(key)]);
  return owners;
}

std::vector<std::string> ranked_ids(const Router& router, const std::string& key) {
  std::vector<std::string> ids;
  for (std::size_t index : router.rank(key)) ids.push_back(router.target_ids()[index]);
  return ids;
}

RC_GTEST_PROP(RouterProperty, SameTargetsInAnyOrderRouteEveryKeyAlike,
              (const std::vector<std::string>& keys)) {
  const auto count = *rc::gen::inRange<std::size_t>(1, 17);
  std::vector<std::string> ids = gen_target_ids(count);
  std::vector<std::string> shuffled = ids;
  std::reverse(shuffled.begin(), shuffled.end());
  std::rotate(shuffled.begin(),
              shuffled.begin() +
                  static_cast<std::ptrdiff_t>(*rc::gen::inRange<std::size_t>(0, shuffled.size())),
              shuffled.end());
  const Router a(ids);
  const Router b(shuffled);
  const Router a_again(ids);
  for (const std::string& key : keys) {
    RC_ASSERT(ranked_ids(a, key) == ranked_ids(b, key));
    RC_ASSERT(a.rank(key) == a_again.rank(key));
    RC_ASSERT(a.pick(key) == a.rank(key).front());
  }
}

TEST(RouterProperty, EachOfNTargetsGetsOneNthOfTheKeys) {
  testing::check_property(kHeavyCases, [] {
    const std::vector<std::string> keys = make_keys(*rc::gen::string<std::string>() + "/");
    for (std::size_t n = 1; n <= 8; ++n) {
      const Router router(gen_target_ids(n));
      std::vector<int> counts(n, 0);
      for (const std::string& key : keys) ++counts[router.pick(key)];
      const double fair = static_cast<double>(kKeys) / static_cast<double>(n);
      for (std::size_t t = 0; t < n; ++t) {
        RC_LOG() << "n=" << n << " target " << t << " got " << counts[t] << " keys\n";
        RC_ASSERT(std::fabs(counts[t] - fair) <= kTolerance * fair);
      }
    }
  });
}

TEST(RouterProperty, AddingATargetMovesOnlyKeysToItAboutOneInNPlusOne) {
  testing::check_property(kHeavyCases, [] {
    const std::vector<std::string> keys = make_keys(*rc::gen::string<std::string>() + "/");
    for (std::size_t n = 1; n <= 8; ++n) {
      std::vector<std::string> ids = gen_target_ids(n + 1);
      const std::string added = ids.back();
      const Router after(ids);
      ids.pop_back();
      const Router before(ids);
      const std::vector<std::string> old_owner = route_all(before, keys);
      const std::vector<std::string> new_owner = route_all(after, keys);
      int moved = 0;
      for (std::size_t k = 0; k < keys.size(); ++k) {
        if (old_owner[k] == new_owner[k]) continue;
        RC_ASSERT(new_owner[k] == added);
        ++moved;
      }
      const double expected = static_cast<double>(kKeys) / static_cast<double>(n + 1);
      RC_LOG() << "n=" << n << " moved " << moved << " of " << kKeys << "\n";
      RC_ASSERT(std::fabs(moved - expected) <= kTolerance * expected);
    }
  });
}

TEST(RouterProperty, RemovingATargetMovesOnlyItsKeysToTheirNextChoice) {
  testing::check_property(kHeavyCases, [] {
    const std::vector<std::string> keys = make_keys(*rc::gen::string<std::string>() + "/");
    for (std::size_t n = 2; n <= 8; ++n) {
      std::vector<std::string> ids = gen_target_ids(n);
      const Router before(ids);
      const auto removed_index = *rc::gen::inRange<std::size_t>(0, n);
      const std::string removed = ids[removed_index];
      ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(removed_index));
      const Router after(ids);
      for (const std::string& key : keys) {
        const std::vector<std::size_t> old_rank = before.rank(key);
        const std::string& old_owner = before.target_ids()[old_rank[0]];
        const std::string& fail_over = before.target_ids()[old_rank[1]];
        const std::string& new_owner = after.target_ids()[after.pick(key)];
        RC_ASSERT(new_owner == (old_owner == removed ? fail_over : old_owner));
      }
    }
  });
}

RC_GTEST_PROP(RouterProperty, RemovingATargetKeepsTheRestOfEveryRanking,
              (const std::vector<std::string>& keys)) {
  const auto n = *rc::gen::inRange<std::size_t>(2, 17);
  std::vector<std::string> ids = gen_target_ids(n);
  const Router before(ids);
  const auto removed_index = *rc::gen::inRange<std::size_t>(0, n);
  const std::string removed = ids[removed_index];
  ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(removed_index));
  const Router after(ids);
  for (const std::string& key : keys) {
    std::vector<std::string> expected = ranked_ids(before, key);
    expected.erase(std::find(expected.begin(), expected.end(), removed));
    RC_ASSERT(ranked_ids(after, key) == expected);
  }
}

}  // namespace
}  // namespace efsas
