// The HTTP/1.1 server of file-service on Boost.Beast/Asio: accepts connections onto one event loop
// per network thread, reads requests with header/body/idle timeouts and a body limit, runs
// FileService::handle_request on a worker pool (so blocking file I/O on a network file system
// never runs on an event loop; back ends on local disks are handled in place), streams file
// bodies (sendfile when the back end has a local descriptor), and shuts down gracefully.
// Thread safety: start, port, shutdown and wait may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "efsas/log.h"
#include "efsas/result.h"
#include "efsas/service/file_service.h"

namespace efsas::service {

struct ServerOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0: any free port (see HttpServer::port)
  int io_threads = 1;
  int worker_threads = 8;
  std::size_t max_connections = 4096;  // more are answered 503 and closed
  // Request bodies are held in memory, at most this many bytes of them at once. A body that
  // finds no room goes to an unlinked file in spool_dir instead, at most spool_limit bytes of
  // them at once; an upload that would pass that too is answered 503 (0: no spooling). Both
  // are taken as bytes arrive: a client that declares a large body and sends nothing holds
  // nothing but its connection.
  std::uint64_t upload_memory_limit = 1024ull * 1024 * 1024;
  std::string spool_dir = "/tmp";
  std::uint64_t spool_limit = 8ull * 1024 * 1024 * 1024;
  std::chrono::milliseconds header_timeout{10000};   // whole request header
  std::chrono::milliseconds body_timeout{60000};     // whole request body
  std::chrono::milliseconds idle_timeout{60000};     // keep-alive wait; also each write's progress
  std::chrono::milliseconds request_timeout{30000};  // handling, before a 504
  bool access_log = true;
  // Handle reads (GET and HEAD of a file) on the network threads when every back end is local
  // (Backend::local), as a static web server does; writes, listings, other storage, and every
  // request under /files when false, run on the worker pool with request_timeout. Routes that
  // read memory only (/healthz, /readyz, /metrics, /targets, /) are always handled in place.
  bool inline_local_io = true;
};

// An unlinked file in `dir` for a request body (O_TMPFILE, or a named file removed at once).
Result<int> open_spool_file(const std::string& dir);

class HttpServer {
 public:
  HttpServer(ServerOptions options, FileService& service, Logger logger);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the threads. (file-service checks the spool directory with its
  // other settings, before anything starts.)
  Status start();
  // The port actually bound.
  std::uint16_t port() const;
  // Stops accepting, closes idle connections, lets in-flight requests finish for up to `grace`,
  // then stops everything. Returns at once; wait() blocks until it is over.
  void shutdown(std::chrono::milliseconds grace);
  // Returns once the network threads have stopped and the workers have finished, or when the
  // grace period is over while a worker is still in a back-end call (a hung mount): that worker
  // is left running, and still uses the FileService and the server, so the caller should then
  // exit the process (file-service does). The destructor waits for every worker.
  void wait();

  struct Impl;  // defined in http_server.cc, with the session class

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace efsas::service
