// The incremental scan's cache file: per directory its identity, timestamps, direct counts and
// subdirectories (name and inode). Versioned, SHA-256 checksummed, written atomically (temporary +
// rename). Thread safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/counter/counter.h"
#include "efsas/result.h"

namespace efsas::counter {

inline constexpr std::uint32_t kScanCacheVersion = 2;

// A subdirectory as its parent's listing gave it. The inode (the listing's d_ino) tells a rescan,
// before any stat, which record to expect there, and so whether that directory has subdirectories
// of its own; the stat that follows still decides whether the record holds.
struct Subdirectory {
  std::string name;
  std::uint64_t inode = 0;
  friend bool operator==(const Subdirectory&, const Subdirectory&) = default;
};

struct DirRecord {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  Counts counts;  // direct entries only; counts.directories == subdirectories.size()
  std::vector<Subdirectory> subdirectories;
};

// Which root the cache describes: a cache for another root is ignored.
struct RootIdentity {
  std::string path;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  friend bool operator==(const RootIdentity&, const RootIdentity&) = default;
};

struct ScanCache {
  RootIdentity root;
  std::vector<DirRecord> records;
};

std::string encode_scan_cache(const ScanCache& cache);
// kDataLoss when the bytes are truncated, corrupt or of another version.
Result<ScanCache> decode_scan_cache(std::string_view bytes);

// kNotFound when there is no file; kDataLoss as decode_scan_cache.
Result<ScanCache> load_scan_cache(const std::filesystem::path& path);
// Writes `path`.tmp.<pid> then renames it over `path`.
Status save_scan_cache(const std::filesystem::path& path, const ScanCache& cache);

}  // namespace efsas::counter
