// The parallel directory walk behind count_files: workers share a stack of directories still to
// list, count locally and merge once at the end. Internal to efsas_counter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "efsas/clock.h"
#include "efsas/counter/counter.h"
#include "efsas/counter/scan_cache.h"

namespace efsas::counter::detail {

struct WalkInput {
  int root_fd = -1;                     // open on the root directory; stays owned by the caller
  std::string root_path;                // for error paths
  const ScanCache* previous = nullptr;  // directories to reuse when unchanged; may be null
  bool build_cache = false;             // collect a DirRecord per directory listed
  std::int64_t racy_after_ns = 0;  // directories with mtime or ctime at or after it: not recorded
};

struct WalkOutput {
  CountResult result;                 // counts, errors, completeness, directories read and reused
  std::vector<DirRecord> records;     // directories listed, clean and not racy
  std::vector<std::uint32_t> reused;  // indices into previous->records still valid
};

WalkOutput walk(const WalkInput& input, const CountOptions& options, const Clock& clock);

}  // namespace efsas::counter::detail
