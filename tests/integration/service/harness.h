// Integration harness for file-service: the real binary on a free loopback port over a storage
// fixture (three mount targets of one file system), an HTTP client and a raw-socket client.
// The storage fixture is an interface so that the same cases run over every back end.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "efsas/testing/process.h"

namespace efsas::service::testing {

struct HttpResult {
  long status = 0;                             // 0: no response (connection failed)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One request over a fresh connection (libcurl, path sent as is, no Expect: 100-continue).
HttpResult http(const std::string& method, const std::string& url, const std::string& body = "",
                const std::map<std::string, std::string>& headers = {},
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

using efsas::testing::connect_loopback;
using efsas::testing::raw_exchange;

// The storage the service runs over: three mount targets that reach one shared file system.
class StorageFixture {
 public:
  virtual ~StorageFixture() = default;
  virtual std::string name() const = 0;
  // The service's environment for this back end (STORAGE_BACKEND, MOUNT_PATH_TEMPLATE, ...).
  virtual std::map<std::string, std::string> env() const = 0;
  // Where the file system's files can be inspected directly.
  virtual std::filesystem::path data_dir() const = 0;
  // Whether the back end's storage is a local disk (Backend::local), so the service may handle
  // its requests on the network threads.
  virtual bool local_storage() const = 0;
  // Whether a read just after make_unavailable may still be served by that target: the
  // directory back end reads through a root it checked within the last second.
  virtual bool reads_may_lag_unavailable() const = 0;
  // The mount-target list document (generation as given) naming the first `count` targets;
  // target i is in AZ i % 3 with address 10.0.i.10, whatever the back end.
  std::string list_document(std::uint64_t generation, int count = 3) const;
  std::string target_id(int index) const;
  // Makes one mount target fail every operation, and brings it back.
  virtual void make_unavailable(int index) = 0;
  virtual void restore(int index) = 0;
};

// Each mount target's root is a symbolic link to one shared directory, as mount targets of one
// file system all show the same files; removing a link makes that target unavailable.
std::unique_ptr<StorageFixture> make_directory_storage();
// The same, with INLINE_LOCAL_IO=false: every file call goes through the worker pool.
std::unique_ptr<StorageFixture> make_directory_storage_on_worker_pool();

// The file-service binary, started with the fixture's environment plus `extra_env`.
class ServiceProcess {
 public:
  ServiceProcess(const StorageFixture& storage, const std::filesystem::path& list_file,
                 std::map<std::string, std::string> extra_env = {});
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  efsas::testing::Process& process() { return *process_; }
  std::string log() const { return process_->log(); }

 private:
  efsas::testing::TempDir dir_;
  int port_ = 0;
  std::unique_ptr<efsas::testing::Process> process_;
};

std::filesystem::path file_service_binary();

// The port file-service names in its "listening" log line, once it has bound it; 0 if it exits
// or `timeout` passes first. Tests start it on port 0 (see free_port).
int listening_port(efsas::testing::Process& process, std::chrono::milliseconds timeout);

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace efsas::service::testing
