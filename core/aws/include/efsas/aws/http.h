// HTTP value types and the transport seam through which every AWS call passes, so tests can put a
// fake or a fault-injecting server behind it. Thread safety: HttpTransport::send may be called
// from many threads at once; the value types are plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/result.h"

namespace efsas::aws {

struct HttpHeader {
  std::string name;
  std::string value;
};
using HttpHeaders = std::vector<HttpHeader>;

// The value of the first header with this name (case-insensitive), if any.
std::optional<std::string> find_header(const HttpHeaders& headers, std::string_view name);
// Replaces every header with this name (case-insensitive) by one with this value.
void set_header(HttpHeaders& headers, std::string_view name, std::string value);

struct HttpRequest {
  std::string method = "GET";
  std::string scheme = "https";
  std::string host;        // "efs.us-east-1.amazonaws.com" or "127.0.0.1:5000"
  std::string path = "/";  // as sent on the wire (already percent-encoded where needed)
  std::string query;       // after '?', as sent on the wire; empty for none
  HttpHeaders headers;     // sent in this order; Host is taken from `host` unless present here
  std::string body;

  // scheme://host/path[?query]
  std::string url() const;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{3100};
  std::chrono::milliseconds request{20000};  // whole exchange, connect included
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends one request and reads the whole response. A response with any status is a success
  // here; failures are only those of the exchange itself: kTimeout (retryable) when a timeout
  // passed, kUnavailable (retryable) when the connection was refused, reset or dropped,
  // kInvalidArgument for a malformed URL.
  virtual Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts& timeouts) = 0;
};

// libcurl with connection reuse: a pool of up to `max_idle_connections` idle easy handles, each
// keeping its connection alive between requests. Safe to share between threads.
// `ca_bundle` names a PEM file of trusted certificate authorities (AWS_CA_BUNDLE, as the SDKs
// read it); empty means libcurl's default, which a Lambda package may not have.
std::shared_ptr<HttpTransport> make_curl_transport(std::size_t max_idle_connections = 8,
                                                   std::string ca_bundle = {});

}  // namespace efsas::aws
