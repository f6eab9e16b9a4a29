// The scan cache: its encoding refuses every damaged form, and the incremental scan it drives
// gives the same counts as a full scan whatever state the cache is in.
#include "efsas/counter/scan_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "efsas/testing/latencyfs.h"
#include "efsas/testing/process.h"
#include "tree_helpers.h"

namespace efsas::counter {
namespace {

using testing::make_dir;
using testing::make_file;
using testing::make_files;
using testing::reference_count;

ScanCache sample_cache() {
  ScanCache c;
  c.root = {"/mnt/efs/data", 42, 7};
  c.records.push_back(DirRecord{42, 7, 100, 200, Counts{3, 2, 1, 0}, {{"a", 8}, {"b\nc", 9}}});
  c.records.push_back(DirRecord{42, 8, -5, 9, Counts{0, 0, 0, 4}, {}});
  c.records.push_back(DirRecord{42, 9, 1, 2, Counts{10, 1, 0, 0}, {{"\xff\xfe", ~0ULL}}});
  return c;
}

void expect_same(const ScanCache& a, const ScanCache& b) {
  EXPECT_EQ(a.root, b.root);
  ASSERT_EQ(a.records.size(), b.records.size());
  for (std::size_t i = 0; i < a.records.size(); ++i) {
    ASSERT_EQ(a.records[i].device, b.records[i].device) << "record " << i;
    ASSERT_EQ(a.records[i].inode, b.records[i].inode) << "record " << i;
    ASSERT_EQ(a.records[i].mtime_ns, b.records[i].mtime_ns) << "record " << i;
    ASSERT_EQ(a.records[i].ctime_ns, b.records[i].ctime_ns) << "record " << i;
    ASSERT_EQ(a.records[i].counts, b.records[i].counts) << "record " << i;
    ASSERT_EQ(a.records[i].subdirectories, b.records[i].subdirectories) << "record " << i;
  }
}

TEST(ScanCacheTest, RoundTrips) {
  const ScanCache c = sample_cache();
  const Result<ScanCache> back = decode_scan_cache(encode_scan_cache(c));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  expect_same(*back, c);
}

TEST(ScanCacheTest, EveryTruncationIsRefused) {
  const std::string bytes = encode_scan_cache(sample_cache());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const Result<ScanCache> r = decode_scan_cache(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }
}

TEST(ScanCacheTest, EveryFlippedByteIsRefused) {
  const std::string bytes = encode_scan_cache(sample_cache());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    EXPECT_FALSE(decode_scan_cache(damaged).ok()) << "flip at byte " << i << " accepted";
  }
  EXPECT_FALSE(decode_scan_cache(bytes + "x").ok());
}

// Names a walk never records, even in a file whose checksum is right: "." would make a rescan
// loop on one directory, ".." would leave the root, a repeated name would count a subtree twice.
TEST(ScanCacheTest, SubdirectoryNamesAWalkNeverWritesAreRefused) {
  for (const std::vector<std::string>& names :
       {std::vector<std::string>{"."}, std::vector<std::string>{".."},
        std::vector<std::string>{"a", "b", "a"}, std::vector<std::string>{""},
        std::vector<std::string>{"a/b"}}) {
    ScanCache c = sample_cache();
    c.records[0].subdirectories.clear();
    for (const std::string& name : names) c.records[0].subdirectories.push_back({name, 5});
    c.records[0].counts.directories = names.size();
    const Result<ScanCache> r = decode_scan_cache(encode_scan_cache(c));
    ASSERT_FALSE(r.ok()) << "accepted " << ::testing::PrintToString(names);
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }
  ScanCache fine = sample_cache();
  fine.records[0].subdirectories = {{"...", 1}, {".a", 1}, {"a.", 2}};
  fine.records[0].counts.directories = 3;
  EXPECT_TRUE(decode_scan_cache(encode_scan_cache(fine)).ok());
}

TEST(ScanCacheTest, OtherVersionIsRefused) {
  std::string bytes = encode_scan_cache(sample_cache());
  bytes[8] = static_cast<char>(kScanCacheVersion + 1);
  const Result<ScanCache> r = decode_scan_cache(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("version"), std::string::npos);
}

TEST(ScanCacheTest, SaveReplacesAtomicallyAndLoadReadsBack) {
  efsas::testing::TempDir dir;
  const auto path = dir.path() / "scan.cache";
  EXPECT_EQ(load_scan_cache(path).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(save_scan_cache(path, sample_cache()).ok());
  ASSERT_TRUE(save_scan_cache(path, sample_cache()).ok());
  EXPECT_TRUE(load_scan_cache(path).ok());
  // Nothing but the cache itself is left in the directory (no temporary files).
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
  EXPECT_FALSE(save_scan_cache(dir.path() / "missing-dir" / "c", sample_cache()).ok());
}

// Something other than a file at the cache's path is refused at once: a FIFO (no writer) once
// hung the run, and a directory is not read as an empty cache.
TEST(ScanCacheTest, APathThatIsNotAFileIsRefusedWithoutWaiting) {
  efsas::testing::TempDir dir;
  const auto fifo = dir.path() / "fifo.cache";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto from_fifo = load_scan_cache(fifo);
  ASSERT_FALSE(from_fifo.ok());
  EXPECT_EQ(from_fifo.error().code, ErrorCode::kIo);
  EXPECT_NE(from_fifo.error().message.find("not a regular file"), std::string::npos)
      << from_fifo.error().message;
  const auto from_directory = load_scan_cache(dir.path());
  ASSERT_FALSE(from_directory.ok());
  EXPECT_EQ(from_directory.error().code, ErrorCode::kIo);
}

// The temporary file a save writes is a new one: a symlink planted where it could be guessed
// (in a shared /tmp) is never followed, so the file it points at keeps its content.
TEST(ScanCacheTest, SavingNeverWritesThroughAPlantedSymlink) {
  efsas::testing::TempDir dir;
  const auto path = dir.path() / "scan.cache";
  const auto victim = dir.path() / "victim";
  efsas::testing::write_file(victim, "keep me");
  for (const std::string& guess :
       {path.string() + ".tmp." + std::to_string(::getpid()), path.string() + ".tmp"}) {
    std::filesystem::create_symlink(victim, guess);
  }
  ASSERT_TRUE(save_scan_cache(path, sample_cache()).ok());
  EXPECT_EQ(efsas::testing::read_file(victim), "keep me");
  EXPECT_TRUE(load_scan_cache(path).ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(std::filesystem::symlink_status(path)));
}

// A cache of several megabytes: the file is written and read a chunk at a time, so fields and
// names fall across chunk boundaries.
ScanCache large_cache() {
  ScanCache c;
  c.root = {"/mnt/efs/" + std::string(300, 'r'), 42, 7};
  for (std::uint64_t i = 0; i < 30'000; ++i) {
    DirRecord r{42,
                100 + i,
                static_cast<std::int64_t>(i),
                static_cast<std::int64_t>(2 * i),
                Counts{i % 13, 0, i % 3, 0},
                {}};
    for (std::uint64_t k = 0; k < i % 4; ++k) {
      r.subdirectories.push_back(
          {"d" + std::to_string(k) + std::string((i * 7 + k) % 200, 'x'), 100'000 + 4 * i + k});
    }
    r.counts.directories = r.subdirectories.size();
    c.records.push_back(std::move(r));
  }
  return c;
}

TEST(ScanCacheTest, ALargeCacheRoundTripsThroughItsFile) {
  efsas::testing::TempDir dir;
  const auto path = dir.path() / "scan.cache";
  const ScanCache c = large_cache();
  ASSERT_TRUE(save_scan_cache(path, c).ok());
  const std::string bytes = efsas::testing::read_file(path);
  ASSERT_GT(bytes.size(), 3u << 20);
  // The file holds exactly what the in-memory encoding gives.
  EXPECT_EQ(bytes, encode_scan_cache(c));
  const Result<ScanCache> loaded = load_scan_cache(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  expect_same(*loaded, c);
  const Result<ScanCache> decoded = decode_scan_cache(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  expect_same(*decoded, c);
}

TEST(ScanCacheTest, DamageAnywhereInALargeCacheFileIsRefused) {
  efsas::testing::TempDir dir;
  const auto path = dir.path() / "scan.cache";
  ASSERT_TRUE(save_scan_cache(path, large_cache()).ok());
  const std::string good = efsas::testing::read_file(path);
  const std::size_t header = 56;
  for (const std::size_t at : {header, header + 1, (std::size_t{1} << 20) - 1, std::size_t{1} << 20,
                               (std::size_t{1} << 20) + header, (std::size_t{2} << 20) + 3,
                               good.size() / 2, good.size() - 1}) {
    std::string damaged = good;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x20);
    efsas::testing::write_file(path, damaged);
    const Result<ScanCache> r = load_scan_cache(path);
    ASSERT_FALSE(r.ok()) << "flip at byte " << at << " accepted";
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(r.error().message.find("checksum mismatch"), std::string::npos)
        << "flip at byte " << at << ": " << r.error().message;
  }
  for (const std::string& changed :
       {good.substr(0, good.size() - 1), good.substr(0, (std::size_t{1} << 20) + 5), good + "x"}) {
    efsas::testing::write_file(path, changed);
    const Result<ScanCache> r = load_scan_cache(path);
    ASSERT_FALSE(r.ok()) << changed.size() << " bytes of " << good.size() << " accepted";
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
    EXPECT_NE(r.error().message.find("truncated or extended"), std::string::npos)
        << r.error().message;
  }
  efsas::testing::write_file(path, good);
  EXPECT_TRUE(load_scan_cache(path).ok());
}

// Incremental scans. File timestamps come from the kernel's real clock, so these use RealClock
// with a small granularity: a directory changed less than 50 ms before a scan starts is not
// trusted by the next one.
constexpr auto kGranularity = std::chrono::milliseconds(50);

class IncrementalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "tree";
    make_dir(root_);
    for (int i = 0; i < 20; ++i) {
      const auto sub = root_ / ("d" + std::to_string(i));
      make_dir(sub);
      make_files(sub, i);
      make_dir(sub / "leaf");
      make_files(sub / "leaf", 2);
    }
    make_files(root_, 5);
    cache_ = dir_.path() / "scan.cache";
  }

  CountResult scan(bool with_cache = true) {
    CountOptions options;
    options.threads = 4;
    options.timestamp_granularity = kGranularity;
    if (with_cache) options.cache_path = cache_;
    Result<CountResult> r = count_files(root_, options, clock_);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : CountResult{};
  }

  static void settle() {
    std::this_thread::sleep_for(kGranularity + std::chrono::milliseconds(20));
  }

  efsas::testing::TempDir dir_;
  std::filesystem::path root_;
  std::filesystem::path cache_;
  RealClock clock_;
};

TEST_F(IncrementalTest, UnchangedTreeIsOnlyStatted) {
  settle();
  const CountResult first = scan();
  EXPECT_EQ(first.cache_state, CacheState::kMissing);
  EXPECT_TRUE(first.cache_saved);
  EXPECT_EQ(first.directories_read, 41U);
  const CountResult second = scan();
  EXPECT_EQ(second.cache_state, CacheState::kLoaded);
  EXPECT_EQ(second.counts, first.counts);
  EXPECT_EQ(second.counts, reference_count(root_).counts);
  EXPECT_EQ(second.directories_read, 0U);
  EXPECT_EQ(second.directories_reused, 41U);
  EXPECT_FALSE(second.cache_saved);  // nothing new to write
}

TEST_F(IncrementalTest, ChangedDirectoriesAreListedAgain) {
  settle();
  (void)scan();
  make_file(root_ / "d3" / "new-file");
  std::filesystem::remove(root_ / "d7" / "leaf" / "f0");
  make_dir(root_ / "d9" / "leaf" / "fresh");
  make_files(root_ / "d9" / "leaf" / "fresh", 4);
  std::filesystem::rename(root_ / "d11", root_ / "d12" / "moved");
  const CountResult r = scan();
  EXPECT_EQ(r.counts, reference_count(root_).counts);
  EXPECT_EQ(r.counts, scan(false).counts);
  EXPECT_GE(r.directories_reused, 30U);
}

// The inodes a cache keeps for each subdirectory only guide how a rescan proves a directory
// unchanged (a stat by name, or an open and a stat of the open directory). Here every guess is
// wrong: leaves are said to be directories with subdirectories and the other way round, or an
// inode no record has. The counts are still a full scan's, and only changed directories are read.
TEST_F(IncrementalTest, WrongSubdirectoryInodesChangeNoCount) {
  settle();
  (void)scan();
  Result<ScanCache> cache = load_scan_cache(cache_);
  ASSERT_TRUE(cache.ok());
  std::uint64_t leaf_inode = 0;
  std::uint64_t inner_inode = 0;
  for (const DirRecord& r : cache->records) {
    (r.subdirectories.empty() ? leaf_inode : inner_inode) = r.inode;
  }
  ASSERT_NE(leaf_inode, 0U);
  ASSERT_NE(inner_inode, 0U);
  std::uint64_t n = 0;
  for (DirRecord& r : cache->records) {
    for (Subdirectory& sub : r.subdirectories) {
      const auto it = std::find_if(cache->records.begin(), cache->records.end(),
                                   [&sub](const DirRecord& d) { return d.inode == sub.inode; });
      ASSERT_NE(it, cache->records.end()) << sub.name << ": no record for its inode";
      const bool leaf = it->subdirectories.empty();
      sub.inode = ++n % 3 == 0 ? 1 : (leaf ? inner_inode : leaf_inode);
    }
  }
  ASSERT_TRUE(save_scan_cache(cache_, *cache).ok());
  const CountResult unchanged = scan();
  EXPECT_EQ(unchanged.counts, reference_count(root_).counts);
  EXPECT_EQ(unchanged.directories_read, 0U);
  EXPECT_EQ(unchanged.directories_reused, 41U);

  ASSERT_TRUE(save_scan_cache(cache_, *cache).ok());
  make_file(root_ / "d3" / "new-file");
  make_file(root_ / "d5" / "leaf" / "new-file");
  const CountResult changed = scan();
  EXPECT_EQ(changed.counts, reference_count(root_).counts);
  EXPECT_EQ(changed.directories_read, 2U);
  EXPECT_EQ(changed.directories_reused, 39U);
}

// A change right after a scan, within the same second as the directory's previous change: the
// directory was too fresh to be trusted, so it is listed again even if its timestamps did not
// move.
TEST_F(IncrementalTest, RacilyCleanDirectoriesAreNotTrusted) {
  settle();
  (void)scan();
  make_file(root_ / "d1" / "a");
  const CountResult fresh = scan();  // d1 changed < granularity ago: read, but not recorded
  make_file(root_ / "d1" / "b");
  const CountResult again = scan();
  EXPECT_EQ(again.counts, reference_count(root_).counts);
  EXPECT_EQ(again.counts.files, fresh.counts.files + 1);
  const Result<ScanCache> cache = load_scan_cache(cache_);
  ASSERT_TRUE(cache.ok());
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "d1").c_str(), &st), 0);
  for (const DirRecord& rec : cache->records) EXPECT_NE(rec.inode, st.st_ino) << "d1 cached";
  EXPECT_EQ(cache->records.size(), 40U);
}

// A clock at the directories' own timestamps: everything is racy, nothing is recorded.
TEST_F(IncrementalTest, ScanStartingAtTheDirectoriesTimestampsRecordsNothing) {
  struct stat st {};
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  const ManualClock at_change{SystemTime{std::chrono::seconds{st.st_mtim.tv_sec}}};
  CountOptions options;
  options.cache_path = cache_;
  options.timestamp_granularity = std::chrono::seconds(1);
  ASSERT_TRUE(count_files(root_, options, at_change).ok());
  const Result<ScanCache> cache = load_scan_cache(cache_);
  ASSERT_TRUE(cache.ok());
  EXPECT_TRUE(cache->records.empty());
}

TEST_F(IncrementalTest, DamagedCacheMeansAFullScanWithTheRightCount) {
  settle();
  (void)scan();
  const std::string good = efsas::testing::read_file(cache_);
  ASSERT_FALSE(good.empty());
  make_files(root_ / "d4", 3, "extra");  // the tree moves on after the cache was written
  const Counts expected = reference_count(root_).counts;
  struct Case {
    const char* name;
    std::string bytes;
    CacheState state;
  };
  std::string flipped = good;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x40);
  const std::vector<Case> cases = {
      {"truncated", good.substr(0, good.size() - 7), CacheState::kInvalid},
      {"flipped byte", flipped, CacheState::kInvalid},
      {"empty", "", CacheState::kInvalid},
      {"garbage", std::string(4096, 'z'), CacheState::kInvalid},
  };
  for (const Case& c : cases) {
    efsas::testing::write_file(cache_, c.bytes);
    const CountResult r = scan();
    EXPECT_EQ(r.cache_state, c.state) << c.name;
    EXPECT_EQ(r.counts, expected) << c.name;
    EXPECT_EQ(r.directories_read, 41U) << c.name;
    EXPECT_TRUE(r.cache_saved) << c.name;
  }
}

// The message names the other root, escaped as paths are everywhere they are shown: a name
// with bytes that are not UTF-8 once made the result unprintable as JSON.
TEST_F(IncrementalTest, CacheOfAnotherRootIsIgnored) {
  const auto other = dir_.path() / "other\xff";
  make_dir(other);
  make_files(other, 3);
  settle();
  CountOptions options;
  options.cache_path = cache_;
  options.timestamp_granularity = kGranularity;
  ASSERT_TRUE(count_files(other, options, clock_).ok());
  const CountResult r = scan();
  EXPECT_EQ(r.cache_state, CacheState::kForeign);
  EXPECT_EQ(r.counts, reference_count(root_).counts);
  EXPECT_NE(r.cache_message.find("other\\xff"), std::string::npos) << r.cache_message;
  EXPECT_NO_THROW((void)to_json(r).dump());
}

// A cache that cannot be written (here: its directory does not exist) is said so, apart from
// why a cache could not be used, and the count is still right.
TEST_F(IncrementalTest, UnwritableCacheIsReportedAndTheCountStaysRight) {
  cache_ = dir_.path() / "no-such-directory" / "scan.cache";
  const CountResult r = scan();
  EXPECT_EQ(r.cache_state, CacheState::kMissing);
  EXPECT_FALSE(r.cache_saved);
  EXPECT_NE(r.cache_save_error.find(cache_.string()), std::string::npos) << r.cache_save_error;
  EXPECT_EQ(to_json(r).at("cache_save_error"), r.cache_save_error);
  EXPECT_EQ(r.counts, reference_count(root_).counts);
  EXPECT_FALSE(std::filesystem::exists(cache_.parent_path()));
}

// A stopped scan must leave a cache that a later complete scan can trust.
TEST_F(IncrementalTest, PartialScanNeverPoisonsTheCache) {
  settle();
  (void)scan();
  make_files(root_ / "d2" / "leaf", 6, "late");
  make_dir(root_ / "d5" / "new");
  CountOptions options;
  options.cache_path = cache_;
  options.timestamp_granularity = kGranularity;
  options.cancelled = [] { return true; };
  const Result<CountResult> partial = count_files(root_, options, clock_);
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->complete);
  settle();
  const CountResult r = scan();
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.counts, reference_count(root_).counts);
}

// On a network file system the kernel answers a plain stat from its attribute cache (NFS keeps a
// directory's for up to a minute), where a directory another client changed still shows its old
// times, and a rescan would reuse its old count. Here latencyfs caches attributes for 60 s, and
// files are added behind it, in its backing directory, as another client would.
TEST(IncrementalOverACachingMount, ChangesTheMountHasNotSeenYetAreCounted) {
  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  efsas::testing::TempDir dir;
  const auto backing = dir.path() / "backing";
  const auto mount = dir.path() / "mnt";
  make_dir(mount);
  make_dir(backing);
  make_dir(backing / "a");
  make_files(backing / "a", 3);
  make_dir(backing / "a" / "b");
  make_files(backing / "a" / "b", 2);
  make_dir(backing / "c");
  make_files(backing / "c", 4);
  std::this_thread::sleep_for(kGranularity + std::chrono::milliseconds(20));
  efsas::testing::LatencyFsMount fs(backing, mount,
                                    {"--latency-us=0", "-o", "attr_timeout=60,entry_timeout=60"});
  ASSERT_TRUE(fs.mounted()) << "latencyfs did not mount: " << fs.log();
  CountOptions options;
  options.threads = 2;
  options.timestamp_granularity = kGranularity;
  options.cache_path = dir.path() / "scan.cache";
  RealClock clock;
  const Result<CountResult> first = count_files(mount, options, clock);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  ASSERT_EQ(first->counts.files, 9U);

  make_files(backing / "c", 2, "g");                       // a leaf (a stat by name proves it)
  efsas::testing::write_file(backing / "a" / "new", "x");  // a parent (an open and a stat)
  std::this_thread::sleep_for(kGranularity + std::chrono::milliseconds(20));
  const Result<CountResult> second = count_files(mount, options, clock);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(second->counts, reference_count(backing).counts);
  EXPECT_EQ(second->counts.files, 12U);
}

}  // namespace
}  // namespace efsas::counter
