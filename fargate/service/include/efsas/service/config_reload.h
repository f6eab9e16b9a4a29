// Where the mount-target list comes from, and the reloader that polls it: each new generation is
// parsed, validated, built into a routing table and swapped in atomically; an invalid document or
// a source outage keeps the last good list (logged and counted); lower generations are ignored.
// Thread safety: reload_once and trigger may be called from any thread; the poll loop is one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "efsas/log.h"
#include "efsas/result.h"
#include "efsas/service/file_service.h"
#include "efsas/service/routing_table.h"

namespace efsas::service {

// A source of the mount-target list document (JSON, efsas::parse_mount_target_list's schema).
class ListSource {
 public:
  virtual ~ListSource() = default;
  virtual Result<std::string> fetch() = 0;
  virtual std::string describe() const = 0;  // for logs: "file /etc/targets.json"
};

// Reads a static file on every fetch (so editing it and sending SIGHUP reloads it).
std::unique_ptr<ListSource> make_file_list_source(std::string path);
// A fixed document (e.g. from an environment variable), for local use without AWS.
std::unique_ptr<ListSource> make_static_list_source(std::string document);

enum class ReloadOutcome { kApplied, kUnchanged, kStale, kFailed };

class ConfigReloader {
 public:
  ConfigReloader(std::unique_ptr<ListSource> source, std::shared_ptr<BackendFactory> factory,
                 HealthPolicy policy, FileService& service, Logger logger);
  ~ConfigReloader();  // stops the poll loop

  // Fetches once and applies the list when it is valid and newer than the active one.
  ReloadOutcome reload_once();

  // Polls every `interval` on a thread of its own until stop(); trigger() polls at once (SIGHUP).
  void start(std::chrono::milliseconds interval);
  void trigger();
  void stop();

 private:
  void loop(std::chrono::milliseconds interval);
  // A problem that comes back poll after poll (the source down, a stale document) is a warning
  // when it begins or changes, then again at its 2nd, 4th, 8th, ... poll in a row, at debug level
  // in between; its end is logged once. `key` tells one problem from another.
  void report_problem(const std::string& key, std::string_view message, nlohmann::json fields);
  void problem_over();

  std::unique_ptr<ListSource> source_;
  std::shared_ptr<BackendFactory> factory_;
  HealthPolicy policy_;
  FileService& service_;
  Logger logger_;
  std::mutex reload_mutex_;  // one reload at a time; guards retired_
  // Tables this reloader replaced, kept until nothing else holds them (checked on every reload),
  // so that the last reference is let go here. Letting go of a table destroys the back ends no
  // later table kept, and an NFS back end's destructor waits for its keep-alive call (up to
  // NFS_TIMEOUT_MS): a request, a probe round or a /metrics page must never be the one to wait.
  std::vector<std::shared_ptr<const RoutingTable>> retired_;
  // The problem the last polls met, and how many polls in a row; guarded by reload_mutex_.
  std::string problem_;
  std::uint64_t problem_polls_ = 0;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool triggered_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace efsas::service
