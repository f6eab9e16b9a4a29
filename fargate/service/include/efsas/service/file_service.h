// Request handling for file-service: a pure-ish handle_request(Request) -> Response over the
// current routing table (blocking back-end calls; the HTTP session runs it on a worker pool).
// Routes: /files/{path} (GET, HEAD, PUT, DELETE), /files/{dir}/ (listing), /healthz, /readyz,
// /metrics, /targets. See docs/http-api.md.
// Thread safety: handle_request may run on many threads while set_table swaps tables.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/service/http_message.h"
#include "efsas/service/metrics.h"
#include "efsas/service/routing_table.h"

namespace efsas::service {

struct ServiceOptions {
  std::uint64_t body_limit = 100ull * 1024 * 1024;  // 413 above this
  std::size_t max_target_bytes = 16 * 1024;         // 414 above this
  std::size_t list_default_limit = 1000;
  std::size_t list_max_limit = 10000;
  // Files (or ranges) up to this size are read into the response at once; larger ones stream.
  std::size_t inline_body_max = 64 * 1024;
};

class FileService {
 public:
  FileService(ServiceOptions options, std::shared_ptr<const Clock> clock, Logger logger);

  Response handle_request(const Request& request) const;
  // What handling a request takes, decided by the routing handle_request uses, from its method,
  // target and header alone.
  enum class Work {
    kMemory,   // status routes and refusals: answered from memory
    kRead,     // a GET or HEAD of one file: quick when storage_is_local()
    kStorage,  // listings and writes: file I/O that takes long even on a local disk
  };
  Work work_of(const Request& request) const;
  // The answer that the method, target and header alone decide (a 4xx: no such route, a bad
  // path, a method not allowed, an unsupported condition), which handle_request would give
  // whatever the body; nullopt when the request needs its body or storage. Lets the server
  // refuse an `Expect: 100-continue` request before the client sends its body.
  std::optional<Response> refuse_before_body(const Request& request) const;

  // The active routing table (null before the first valid list).
  std::shared_ptr<const RoutingTable> table() const;
  // Swaps in a new generation; requests already running keep the table they started with.
  void set_table(std::shared_ptr<const RoutingTable> table);
  // Whether a table is loaded and all its back ends are local (RoutingTable::all_local): then
  // requests may be handled on the network threads without risk of hanging them.
  bool storage_is_local() const;

  Metrics& metrics() const { return *metrics_; }
  const ServiceOptions& options() const { return options_; }
  const Clock& clock() const { return *clock_; }

 private:
  // Where a request goes, from its method, target and header alone.
  struct Routing {
    enum Kind { kRefused, kList, kFile, kMemory } kind = kRefused;
    std::string path;        // kList: the decoded directory; kFile: the normalized file path;
                             // kMemory: the route ("/", "/healthz", ...)
    std::string_view query;  // into the request's target
    std::optional<Response> refusal;  // kRefused: the answer
  };
  Routing route(const Request& request) const;
  Response get_file(const Request& request, const std::string& path, bool head) const;
  Response put_file(const Request& request, const std::string& path) const;
  Response delete_file(const Request& request, const std::string& path) const;
  Response list_directory(const Request& request, const std::string& dir,
                          std::string_view query) const;
  Response readyz() const;
  Response targets() const;

  ServiceOptions options_;
  std::shared_ptr<const Clock> clock_;
  Logger logger_;
  std::shared_ptr<Metrics> metrics_ = std::make_shared<Metrics>();
  mutable std::mutex table_mutex_;
  std::shared_ptr<const RoutingTable> table_;
  // Set once /readyz has seen a probe succeed: from then on the task stays ready (see readyz).
  mutable std::atomic<bool> reached_storage_{false};
};

// The HTTP status for a back-end error code (see backend.h).
int status_for(ErrorCode code);
// Whether a request may move on to the next mount target after this error.
bool is_failover_error(const Error& error);

}  // namespace efsas::service
