// The AWS Lambda Runtime API loop for a custom runtime (provided.al2023 `bootstrap`): fetch the
// next invocation, run a plain handler function, post its response or error. The HTTP transport
// is an interface so tests can run the loop against a local fixture or a fake.
// Thread safety: run_runtime_loop is single-threaded; a transport is used from one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/result.h"

namespace efsas::lambda {

// One event delivered by GET /2018-06-01/runtime/invocation/next.
struct Invocation {
  std::string request_id;    // Lambda-Runtime-Aws-Request-Id
  std::string payload;       // the event, as sent
  std::string function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string trace_id;      // Lambda-Runtime-Trace-Id ("" when absent)
  // Lambda-Runtime-Deadline-Ms (wall clock); none when the header is absent.
  std::optional<SystemTime> deadline;
  // Why the invocation cannot be handled (a malformed header): the loop answers it with an
  // error instead of calling the handler. Empty for a good one.
  std::string invalid;
};

// What a handler returns: a payload, or an error reported as {errorType, errorMessage}.
struct InvocationResponse {
  bool success = true;
  std::string payload;
  std::string content_type = "application/json";
  std::string error_type;
  std::string error_message;

  static InvocationResponse ok(std::string payload, std::string content_type = "application/json") {
    InvocationResponse r;
    r.payload = std::move(payload);
    r.content_type = std::move(content_type);
    return r;
  }
  static InvocationResponse failure(std::string error_type, std::string error_message) {
    InvocationResponse r;
    r.success = false;
    r.error_type = std::move(error_type);
    r.error_message = std::move(error_message);
    return r;
  }
};

// A handler may also throw: the loop reports the exception as an error and carries on.
using Handler = std::function<InvocationResponse(const Invocation&)>;

struct HttpRequest {
  std::string method;  // "GET" or "POST"
  std::string path;    // "/2018-06-01/runtime/invocation/next"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class RuntimeTransport {
 public:
  virtual ~RuntimeTransport() = default;
  // Sends one request and waits for its response: a GET without a time limit (/next
  // long-polls), a POST (a response or an error, answered at once) up to the transport's limit.
  // Errors only for transport failures; any HTTP status is a response.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// HTTP/1.1 over libcurl to `host_port` (the value of AWS_LAMBDA_RUNTIME_API, "127.0.0.1:9001").
// A POST not answered within `post_timeout` fails (the loop then goes on to /next) instead of
// holding the environment until Lambda times the invocation out.
std::unique_ptr<RuntimeTransport> make_http_transport(
    std::string host_port, std::chrono::milliseconds post_timeout = std::chrono::seconds(30));

// The Runtime API calls, one function each.
class RuntimeClient {
 public:
  explicit RuntimeClient(RuntimeTransport& transport) : transport_(transport) {}

  Result<Invocation> next();
  Status post_response(const std::string& request_id, const InvocationResponse& response);
  Status post_error(const std::string& request_id, const std::string& error_type,
                    const std::string& error_message);
  // Reports a failure before the first /next (bad configuration, ...).
  Status post_init_error(const std::string& error_type, const std::string& error_message);

 private:
  RuntimeTransport& transport_;
};

// {"errorMessage": ..., "errorType": ...}: the body Lambda expects for errors.
std::string error_body(const std::string& error_type, const std::string& error_message);

struct LoopOptions {
  // Stop after this many invocations (tests); run until /next fails when absent.
  std::optional<std::size_t> max_invocations;
  // A /next that fails (no answer, a status other than 500) is asked again this many times, the
  // first after `retry_delay`, each later one after twice the wait before, before the loop ends.
  int next_retries = 3;
  std::chrono::milliseconds retry_delay{100};
};

// Runs invocations until /next fails (a 500 at once, anything else after its retries), or the
// Runtime API answers a post with 500 (its container
// error, after which a runtime must exit), returned as the error; or until max_invocations.
// A handler that returns a failure or throws is reported through .../error, and so is an
// invocation marked invalid (its handler is not called); the loop goes on.
Status run_runtime_loop(RuntimeTransport& transport, const Handler& handler, const Logger& log,
                        const LoopOptions& options = {});

}  // namespace efsas::lambda
