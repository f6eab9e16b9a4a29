// Properties over random trees: the counter equals the reference walk for any shape, thread
// count and descriptor budget, and an incremental rescan after random changes equals a full scan.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>
#include <tuple>

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

// Whether `path` is `dir` or below it.
bool within(const std::filesystem::path& path, const std::filesystem::path& dir) {
  const std::string p = path.string();
  const std::string d = dir.string();
  return p == d || p.starts_with(d + "/");
}

// `dirs` after the directory `from` (and all below it) became `to`.
void rename_in(std::vector<std::filesystem::path>& dirs, const std::filesystem::path& from,
               const std::filesystem::path& to) {
  for (auto& d : dirs) {
    if (within(d, from)) d = to / std::filesystem::relative(d, from);
    d = d.lexically_normal();
    if (d.string().ends_with("/")) d = d.parent_path();
  }
}

// The changes a scan cache can get wrong, besides new entries: a directory moved elsewhere (its
// inode and counts now under another name), two directories swapping names, a directory removed
// and made again under its old name (its inode possibly reused), one file removed. `pick` chooses
// among the directories below the root.
enum class Change { kMove, kSwap, kRecreate, kRemoveFile };

void apply_change(std::vector<std::filesystem::path>& dirs, Change change, std::size_t pick,
                  std::size_t other, int& n) {
  namespace fs = std::filesystem;
  if (change == Change::kRemoveFile) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(dirs[0])) {
      if (fs::is_regular_file(entry.symlink_status())) {
        files.push_back(entry.path());
      }
    }
    if (!files.empty()) fs::remove(files[pick % files.size()]);
    return;
  }
  if (dirs.size() <= 1) return;
  const fs::path a = dirs[1 + pick % (dirs.size() - 1)];
  if (change == Change::kRecreate) {
    fs::remove_all(a);
    std::erase_if(dirs, [&](const fs::path& d) { return within(d, a) && d != a; });
    testing::make_dir(a);
    for (int i = 0; i < static_cast<int>(other % 4); ++i) {
      testing::make_file(a / ("r" + std::to_string(n++)));
    }
    return;
  }
  const fs::path b = dirs[other % dirs.size()];  // may be the root
  if (change == Change::kMove) {
    if (within(b, a)) return;  // not into itself
    const fs::path to = b / ("m" + std::to_string(n++));
    fs::rename(a, to);
    rename_in(dirs, a, to);
    return;
  }
  if (b == dirs[0] || within(a, b) || within(b, a)) return;  // Change::kSwap of unrelated dirs
  const fs::path parked = dirs[0] / ("swap" + std::to_string(n++));
  fs::rename(a, parked);
  rename_in(dirs, a, parked);
  fs::rename(b, a);
  rename_in(dirs, b, a);
  fs::rename(parked, b);
  rename_in(dirs, parked, b);
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
      const std::filesystem::path gone = dirs[1 + r % (dirs.size() - 1)];
      std::filesystem::remove_all(gone);
      std::erase_if(dirs, [&](const std::filesystem::path& p) { return within(p, gone); });
    }
    const auto moves =
        *rc::gen::container<std::vector<std::tuple<Change, std::size_t, std::size_t>>>(
            static_cast<std::size_t>(*rc::gen::inRange(0, 4)),
            rc::gen::tuple(rc::gen::element(Change::kMove, Change::kSwap, Change::kRecreate,
                                            Change::kRemoveFile),
                           rc::gen::inRange<std::size_t>(0, 1000),
                           rc::gen::inRange<std::size_t>(0, 1000)));
    for (const auto& [change, pick, other] : moves) apply_change(dirs, change, pick, other, n);
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
