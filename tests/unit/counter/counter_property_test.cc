// Properties over random trees: the counter equals the reference walk for any shape, thread
// count and descriptor budget, and an incremental rescan after random changes equals a full scan.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "efsas/counter/counter.h"
#include "efsas/testing/process.h"
#include "tree_helpers.h"

namespace efsas::counter {
namespace {

using testing::reference_count;

enum class Kind { kDir, kFile, kSymlink, kFifo, kDangling };

// Adds one random entry under one of the directories made so far.
void add_entry(std::vector<std::filesystem::path>& dirs, Kind kind, std::size_t where, int n) {
  const std::filesystem::path parent = dirs[where % dirs.size()];
  const std::filesystem::path path = parent / ("e" + std::to_string(n));
  switch (kind) {
    case Kind::kDir:
      testing::make_dir(path);
      dirs.push_back(path);
      break;
    case Kind::kFile:
      testing::make_file(path);
      break;
    case Kind::kSymlink:
      testing::make_symlink(n % 2 == 0 ? ".." : ".", path);
      break;
    case Kind::kFifo:
      testing::make_fifo(path);
      break;
    case Kind::kDangling:
      testing::make_symlink("missing-" + std::to_string(n), path);
      break;
  }
}

struct Op {
  Kind kind;
  std::size_t where;
};

rc::Gen<Op> gen_op() {
  return rc::gen::build<Op>(
      rc::gen::set(&Op::kind, rc::gen::weightedElement<Kind>({{6, Kind::kDir},
                                                              {10, Kind::kFile},
                                                              {1, Kind::kSymlink},
                                                              {1, Kind::kFifo},
                                                              {1, Kind::kDangling}})),
      rc::gen::set(&Op::where, rc::gen::inRange<std::size_t>(0, 1000)));
}

std::vector<Op> ops_of_size(int min, int max) {
  const auto size = static_cast<std::size_t>(*rc::gen::inRange(min, max));
  return *rc::gen::container<std::vector<Op>>(size, gen_op());
}

std::vector<std::filesystem::path> build(const std::filesystem::path& root,
                                         const std::vector<Op>& ops) {
  std::vector<std::filesystem::path> dirs{root};
  int n = 0;
  for (const Op& op : ops) add_entry(dirs, op.kind, op.where, n++);
  return dirs;
}

RC_GTEST_PROP(CounterProperty, EqualsReferenceOnRandomTrees, ()) {
  const auto ops = ops_of_size(0, 300);
  const unsigned threads = *rc::gen::inRange(1U, 33U);
  const std::size_t budget = *rc::gen::inRange<std::size_t>(0, 8);
  const bool trust_d_type = *rc::gen::arbitrary<bool>();
  efsas::testing::TempDir dir;
  build(dir.path(), ops);
  CountOptions options;
  options.threads = threads;
  options.max_open_directories = budget;
  options.trust_d_type = trust_d_type;
  ManualClock clock;
  const Result<CountResult> r = count_files(dir.path(), options, clock);
  RC_ASSERT(r.ok());
  RC_ASSERT(r->counts == reference_count(dir.path()).counts);
  RC_ASSERT(r->errors == 0U);
  RC_ASSERT(r->complete);
}

// File timestamps come from the kernel's clock: the scans use RealClock with a small
// granularity, and the changes run with no pause, so they often land within the same
// timestamp tick as the scan before them.
RC_GTEST_PROP(CounterProperty, IncrementalRescanEqualsFullScanAfterRandomChanges, ()) {
  const auto ops = ops_of_size(1, 150);
  const int rounds = *rc::gen::inRange(1, 4);
  efsas::testing::TempDir dir;
  const auto root = dir.path() / "tree";
  testing::make_dir(root);
  auto dirs = build(root, ops);
  const bool settle_first = *rc::gen::arbitrary<bool>();
  if (settle_first) std::this_thread::sleep_for(std::chrono::milliseconds(40));
  RealClock clock;
  CountOptions options;
  options.threads = 4;
  options.cache_path = dir.path() / "scan.cache";
  options.timestamp_granularity = std::chrono::milliseconds(20);
  RC_ASSERT(count_files(root, options, clock).ok());
  int n = 100000;
  for (int round = 0; round < rounds; ++round) {
    const auto changes = ops_of_size(0, 20);
    for (const Op& op : changes) add_entry(dirs, op.kind, op.where, n++);
    const auto removals = *rc::gen::container<std::vector<std::size_t>>(
        static_cast<std::size_t>(*rc::gen::inRange(0, 3)), rc::gen::inRange<std::size_t>(1, 1000));
    for (std::size_t r : removals) {
      if (dirs.size() <= 1) break;
      const std::size_t i = 1 + r % (dirs.size() - 1);
      std::error_code ec;
      std::filesystem::remove_all(dirs[i], ec);
      std::erase_if(dirs, [&](const std::filesystem::path& p) {
        return p.string().rfind(dirs[i].string(), 0) == 0 && p != dirs[i];
      });
      dirs.erase(dirs.begin() + static_cast<std::ptrdiff_t>(i));
    }
    const Result<CountResult> incremental = count_files(root, options, clock);
    RC_ASSERT(incremental.ok());
    RC_ASSERT(incremental->cache_state == CacheState::kLoaded);
    CountOptions full = options;
    full.cache_path.clear();
    const Result<CountResult> full_scan = count_files(root, full, clock);
    RC_ASSERT(full_scan.ok());
    RC_ASSERT(incremental->counts == full_scan->counts);
    RC_ASSERT(incremental->counts == reference_count(root).counts);
  }
}

}  // namespace
}  // namespace efsas::counter
