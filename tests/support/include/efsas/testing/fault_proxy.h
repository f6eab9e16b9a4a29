// A small HTTP/1.1 server on a free loopback port, and a fault-injecting proxy built on it: the
// proxy forwards to an upstream server (moto) except for the next N requests, which get a 500,
// a 503, a throttling error or a dropped connection. It can also rewrite the bodies of forwarded
// responses, to show a state the upstream cannot produce (moto creates every EFS mount target
// `available` at once; AWS reports `creating` for a minute or two). Every request received is
// recorded, so a test can count attempts and re-check what the client sent (its SigV4 signature).
// Thread safety: all public members may be called while the server runs.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace efsas::testing {

struct RecordedRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name (case-insensitive), or "".
  std::string header(const std::string& name) const;
};

// Raw response bytes, or nullopt to close the connection without answering.
using HttpHandler = std::function<std::optional<std::string>(const RecordedRequest&)>;

// "HTTP/1.1 <status> ...\r\n" with Content-Length and the given headers and body.
std::string http_response(int status, const std::string& body,
                          const std::map<std::string, std::string>& headers = {});

class LoopbackHttpServer {
 public:
  explicit LoopbackHttpServer(HttpHandler handler);
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  // Connections accepted so far (shows whether a client reuses connections).
  std::size_t connection_count() const { return connections_.load(); }
  void clear_requests();

 private:
  void accept_loop();
  void serve(int fd);

  HttpHandler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// Given a forwarded request and the upstream's response body, returns the body to send instead.
using BodyRewrite = std::function<std::string(const RecordedRequest&, std::string body)>;

enum class Fault {
  kHttp500,        // 500 InternalFailure (JSON body)
  kHttp503,        // 503 ServiceUnavailable (JSON body)
  kThrottling,     // 400 ThrottlingException (x-amzn-ErrorType header and JSON __type)
  kThrottlingXml,  // 503 RequestLimitExceeded in the EC2 XML error shape
  kDrop,           // close the connection without a response
};

class FaultProxy {
 public:
  // Forwards to http://127.0.0.1:<upstream_port>.
  explicit FaultProxy(int upstream_port);

  // The next `count` requests get `fault` instead of being forwarded.
  void inject(Fault fault, int count);
  int pending_faults() const;
  // Every forwarded response with a Content-Length body from now on goes through `rewrite`
  // (the length is corrected); an empty function forwards bodies unchanged again.
  void rewrite_bodies(BodyRewrite rewrite);

  int port() const { return server_->port(); }
  std::string endpoint() const { return server_->endpoint(); }
  std::vector<RecordedRequest> requests() const { return server_->requests(); }
  std::size_t request_count() const { return server_->request_count(); }
  void clear_requests() { server_->clear_requests(); }

 private:
  std::optional<std::string> handle(const RecordedRequest& request);

  int upstream_port_;
  mutable std::mutex mutex_;
  Fault fault_ = Fault::kHttp500;
  int remaining_ = 0;
  BodyRewrite rewrite_;
  std::unique_ptr<LoopbackHttpServer> server_;
};

}  // namespace efsas::testing
