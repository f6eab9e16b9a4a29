// Three (or more) real nfs-ganesha servers on 127.0.0.2, 127.0.0.3, ... port 2049, all exporting
// one temporary directory: the mount targets of one file system, for NFS integration tests.
// Tests that use it must carry the CTest RESOURCE_LOCK "ganesha" (the addresses are fixed).
// Thread safety: none; drive it from the test's main thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "efsas/testing/process.h"

namespace efsas::testing {

struct GaneshaOptions {
  std::size_t instances = 3;  // on 127.0.0.2 .. 127.0.0.(1+instances)
  // NFSv4 lease lifetime; ganesha's default is 60 s. Short leases let tests show keep-alive.
  std::chrono::seconds lease_lifetime{60};
};

class GaneshaCluster {
 public:
  static constexpr int kPort = 2049;
  static constexpr const char* kResourceLock = "ganesha";

  // Starts every instance and waits until each accepts connections. Aborts the test binary
  // with a clear message if ganesha is missing or an address is already served by someone else.
  explicit GaneshaCluster(GaneshaOptions options = {});
  ~GaneshaCluster();
  GaneshaCluster(const GaneshaCluster&) = delete;
  GaneshaCluster& operator=(const GaneshaCluster&) = delete;

  std::size_t size() const { return instances_.size(); }
  // "127.0.0.2" for instance 0.
  const std::string& address(std::size_t i) const;
  std::vector<std::string> addresses() const;
  // The directory every instance exports (as "/"), readable directly by the test.
  const std::filesystem::path& export_dir() const { return export_dir_; }

  // SIGKILL, and wait until the process is gone.
  void kill(std::size_t i);
  // SIGSTOP: the server keeps its socket (connections are accepted by the kernel) but answers
  // nothing: a hung mount target.
  void pause(std::size_t i);
  void resume(std::size_t i);
  // Starts a killed (or never started) instance again with the same configuration and waits
  // until it accepts connections.
  void restart(std::size_t i);
  bool running(std::size_t i);
  // Every instance serving again (killed ones restarted, paused ones resumed), as a test starts.
  void serve_all();
  std::string log(std::size_t i) const;

 private:
  struct Instance {
    std::string address;
    std::filesystem::path config;
    std::filesystem::path log;
    std::filesystem::path pid_file;
    std::unique_ptr<Process> process;
  };
  void start(Instance& instance);
  Instance& at(std::size_t i);

  TempDir dir_;
  std::filesystem::path export_dir_;
  std::vector<Instance> instances_;
};

}  // namespace efsas::testing
