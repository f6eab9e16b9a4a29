// The incremental scan's cache file: per directory its identity, timestamps, direct counts and
// subdirectory names. Versioned, SHA-256 checksummed, written atomically (temporary + rename).
// Thread safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/counter/counter.h"
#include "efsas/result.h"

namespace efsas::counter {

inline constexpr std::uint32_t kScanCacheVersion = 1;

struct DirRecord {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  Counts counts;  // direct entries only; counts.directories == subdirectories.size()
  std::vector<std::string> subdirectories;
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
