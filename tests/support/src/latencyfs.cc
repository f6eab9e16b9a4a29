// Mounting tools/latencyfs for a test.
#include "efsas/testing/latencyfs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <utility>

namespace efsas::testing {
namespace {

std::filesystem::path latencyfs_binary() { return binary_dir() / "tools/latencyfs/latencyfs"; }

}  // namespace

bool LatencyFsMount::supported() {
  return ::access("/dev/fuse", R_OK | W_OK) == 0 && ::access(latencyfs_binary().c_str(), X_OK) == 0;
}

LatencyFsMount::LatencyFsMount(const std::filesystem::path& backing, std::filesystem::path mount,
                               std::vector<std::string> extra_args)
    : mount_(std::move(mount)) {
  struct stat before {};
  if (::stat(mount_.c_str(), &before) != 0) return;
  ProcessOptions options;
  options.argv = {latencyfs_binary().string(), backing.string(), mount_.string()};
  for (std::string& arg : extra_args) options.argv.push_back(std::move(arg));
  options.argv.emplace_back("-f");
  options.log_file = log_dir_.path() / "latencyfs.log";
  process_ = std::make_unique<Process>(options);
  // Mounted once the directory's device changes.
  struct stat now {};
  for (int i = 0; i < 500; ++i) {
    if (::stat(mount_.c_str(), &now) == 0 && now.st_dev != before.st_dev) {
      mounted_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

LatencyFsMount::~LatencyFsMount() {
  if (mounted_) run_command({"fusermount3", "-u", mount_.string()});
}

}  // namespace efsas::testing
