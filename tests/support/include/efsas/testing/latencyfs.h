// tools/latencyfs (a FUSE passthrough file system) mounted over a backing directory for the
// length of a test: a real file system that is neither local disk nor memory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "efsas/testing/process.h"

namespace efsas::testing {

class LatencyFsMount {
 public:
  // Whether this machine can mount it (/dev/fuse and the built latencyfs binary).
  static bool supported();

  // Mounts `backing` at `mount` (an existing empty directory) with latencyfs's extra arguments
  // (e.g. "--latency-us=0") and waits until the mount is in place; see mounted().
  LatencyFsMount(const std::filesystem::path& backing, std::filesystem::path mount,
                 std::vector<std::string> extra_args = {"--latency-us=0"});
  // Unmounts (fusermount3 -u) and stops the daemon.
  ~LatencyFsMount();
  LatencyFsMount(const LatencyFsMount&) = delete;
  LatencyFsMount& operator=(const LatencyFsMount&) = delete;

  bool mounted() const { return mounted_; }
  std::string log() const { return process_ ? process_->log() : std::string(); }

 private:
  std::filesystem::path mount_;
  TempDir log_dir_;
  std::unique_ptr<Process> process_;
  bool mounted_ = false;
};

}  // namespace efsas::testing
