// File counting: a parallel getdents64 walk that counts regular files, reports every other kind
// of entry and every per-directory error, stops at a deadline, and can reuse a cache of unchanged
// directories. Thread safety: count_files is reentrant; the callbacks in CountOptions run only on
// the calling thread. Two concurrent scans must not share a cache file.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/clock.h"
#include "efsas/result.h"

namespace efsas::counter {

// Entries found below the root. The root itself is not counted; symlinks are never followed.
struct Counts {
  std::uint64_t files = 0;        // regular files
  std::uint64_t directories = 0;  // subdirectories, including those that could not be read
  std::uint64_t symlinks = 0;
  std::uint64_t other = 0;  // fifos, sockets, device nodes
  Counts& operator+=(const Counts& other_counts);
  friend bool operator==(const Counts&, const Counts&) = default;
};

// One directory (or entry) that could not be read: the scan goes on without it.
struct ScanError {
  std::string path;
  int error_number = 0;  // errno: EACCES, ENOENT (vanished), ENOTDIR (replaced), ...
  std::string message;
};

enum class CacheState {
  kDisabled,  // no cache path given
  kLoaded,    // a valid cache for this root was used
  kMissing,   // no cache file yet: full scan
  kInvalid,   // truncated, corrupt or of another version: full scan
  kForeign,   // written for another root directory: full scan
};
std::string_view to_string(CacheState state);

struct CountResult {
  Counts counts;
  std::uint64_t errors = 0;              // every failure, even beyond the sample
  std::vector<ScanError> error_samples;  // at most CountOptions::max_error_samples
  bool complete = true;                  // false: stopped early, counts are a lower bound
  std::string incomplete_reason;         // "deadline" or "cancelled" when !complete
  std::chrono::nanoseconds elapsed{0};
  std::uint64_t directories_read = 0;    // listed with getdents64
  std::uint64_t directories_reused = 0;  // unchanged since the cache: only stat'ed
  std::size_t threads = 0;               // worker threads the walk started (at most the option)
  CacheState cache_state = CacheState::kDisabled;
  std::string cache_message;     // why the cache was not used (missing, invalid, foreign)
  bool cache_saved = false;      // a new cache was written (none is when nothing changed)
  std::string cache_save_error;  // why the new cache could not be written: the next scan is full

  double seconds() const;
  double files_per_second() const;
};

// {"files":..,"directories":..,"symlinks":..,"other":..,"errors":..,"complete":..,...}
// Error paths in it are passed through escape_for_display, so the JSON always serialises.
nlohmann::json to_json(const CountResult& result);

// File names are bytes: keeps valid UTF-8, writes control characters, backslashes and bytes that
// are not UTF-8 as \xNN, so a path can go into a log line or JSON as it is.
std::string escape_for_display(std::string_view raw);

struct Progress {
  std::uint64_t files = 0;
  std::uint64_t directories = 0;
  std::uint64_t errors = 0;
  std::chrono::nanoseconds elapsed{0};
};

struct CountOptions {
  // Worker threads at most. On a network file system latency dominates: more threads than cores
  // keep more directory reads in flight. The walk starts one per core and more while the running
  // ones mostly wait, so a walk the cores keep up with starts no more than it can use.
  unsigned threads = 16;
  // How long the walk watches its workers before it judges whether to start more: long enough
  // that the figure is not a scheduling accident of one millisecond.
  std::chrono::milliseconds ramp_window{4};
  // Directory descriptors kept open for children still to visit; beyond it children are reached
  // by re-walking from the nearest open ancestor. Each worker holds one more while it reads.
  std::size_t max_open_directories = 256;
  std::optional<SteadyTime> deadline;  // on clock.steady_now()
  std::function<bool()> cancelled;     // polled with the progress
  std::function<void(const Progress&)> on_progress;
  std::chrono::milliseconds poll_interval{100};
  std::size_t max_error_samples = 16;
  // false: stat every entry instead of trusting getdents64's d_type, as the walk does anyway
  // for entries a file system reports as DT_UNKNOWN.
  bool trust_d_type = true;
  // Incremental mode when not empty: directories whose (device, inode, mtime, ctime) match the
  // cache are not listed again. Written atomically after the scan.
  std::filesystem::path cache_path;
  // Directories changed this close to the scan's start (or later) are not trusted next time:
  // a change within the same timestamp tick would leave mtime unchanged.
  std::chrono::nanoseconds timestamp_granularity = std::chrono::seconds(2);
};

// Counts the tree under `root` (followed if it is itself a symlink). Fails only when the root
// cannot be opened as a directory; everything below it is counted or reported as an error.
Result<CountResult> count_files(const std::filesystem::path& root, const CountOptions& options,
                                const Clock& clock);

}  // namespace efsas::counter
