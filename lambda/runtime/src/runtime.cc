// The Runtime API loop and its calls; see docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html.
#include "efsas/lambda/runtime.h"

#include <charconv>
#include <chrono>
#include <exception>
#include <nlohmann/json.hpp>
#include <thread>

namespace efsas::lambda {
namespace {

constexpr const char* kApiPrefix = "/2018-06-01/runtime";

std::string header(const HttpResponse& response, const std::string& name) {
  const auto it = response.headers.find(name);
  return it == response.headers.end() ? std::string() : it->second;
}

// A 500 from the Runtime API is its "container error": the state cannot be recovered and the
// runtime should exit (kInternal); any other status is an answer about this one call.
Error status_error(const std::string& what, const HttpResponse& response) {
  return make_error(response.status == 500 ? ErrorCode::kInternal : ErrorCode::kUnavailable,
                    what + " returned HTTP " + std::to_string(response.status) + ": " +
                        response.body.substr(0, 512));
}

Status post(RuntimeTransport& transport, const std::string& path,
            std::vector<std::pair<std::string, std::string>> headers, std::string body) {
  HttpRequest request{"POST", path, std::move(headers), std::move(body)};
  auto response = transport.send(request);
  if (!response.ok()) return response.error();
  // 202 Accepted is the documented success; accept any 2xx.
  if (response->status < 200 || response->status >= 300) return status_error(path, *response);
  return {};
}

}  // namespace

std::string error_body(const std::string& error_type, const std::string& error_message) {
  // Replacement of invalid UTF-8 keeps a message from an odd file name from breaking the report.
  return nlohmann::json{{"errorMessage", error_message}, {"errorType", error_type}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Invocation> RuntimeClient::next() {
  HttpRequest request{"GET", std::string(kApiPrefix) + "/invocation/next", {}, {}};
  auto response = transport_.send(request);
  if (!response.ok()) return response.error();
  if (response->status != 200) return status_error("invocation/next", *response);
  Invocation invocation;
  invocation.request_id = header(*response, "lambda-runtime-aws-request-id");
  if (invocation.request_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invocation/next: response has no Lambda-Runtime-Aws-Request-Id");
  }
  invocation.payload = std::move(response->body);
  invocation.function_arn = header(*response, "lambda-runtime-invoked-function-arn");
  invocation.trace_id = header(*response, "lambda-runtime-trace-id");
  // Present but empty is not absent: a value that is not a number is invalid.
  if (const auto it = response->headers.find("lambda-runtime-deadline-ms");
      it != response->headers.end()) {
    const std::string& deadline = it->second;
    // Milliseconds since the epoch: digits only, all of them.
    std::int64_t deadline_ms = 0;
    const char* end = deadline.data() + deadline.size();
    const auto [stop, error] = std::from_chars(deadline.data(), end, deadline_ms);
    if (error != std::errc() || stop != end || deadline_ms < 0) {
      invocation.invalid = "bad Lambda-Runtime-Deadline-Ms: " + deadline;
    } else {
      invocation.deadline = system_time_at(deadline_ms / 1000, deadline_ms % 1000 * 1'000'000);
    }
  }
  return invocation;
}

Status RuntimeClient::post_response(const std::string& request_id,
                                    const InvocationResponse& response) {
  return post(transport_, std::string(kApiPrefix) + "/invocation/" + request_id + "/response",
              {{"Content-Type", response.content_type}}, response.payload);
}

Status RuntimeClient::post_error(const std::string& request_id, const std::string& error_type,
                                 const std::string& error_message) {
  return post(
      transport_, std::string(kApiPrefix) + "/invocation/" + request_id + "/error",
      {{"Content-Type", "application/json"}, {"Lambda-Runtime-Function-Error-Type", error_type}},
      error_body(error_type, error_message));
}

Status RuntimeClient::post_init_error(const std::string& error_type,
                                      const std::string& error_message) {
  return post(
      transport_, std::string(kApiPrefix) + "/init/error",
      {{"Content-Type", "application/json"}, {"Lambda-Runtime-Function-Error-Type", error_type}},
      error_body(error_type, error_message));
}

Status run_runtime_loop(RuntimeTransport& transport, const Handler& handler, const Logger& log,
                        const LoopOptions& options) {
  RuntimeClient client(transport);
  for (std::size_t served = 0;
       !options.max_invocations.has_value() || served < *options.max_invocations; ++served) {
    auto invocation = client.next();
    // A hiccup of the Runtime API (a reset connection, a 502) is not worth a cold start and the
    // loss of the warm scan cache; a 500 (its container error) ends the loop at once.
    auto delay = options.retry_delay;
    for (int retry = 0; !invocation.ok() && invocation.error().code != ErrorCode::kInternal &&
                        retry < options.next_retries;
         ++retry) {
      log.warn("runtime: cannot fetch the next invocation; asking again",
               {{"error", invocation.error().to_string()}, {"retry", retry + 1}});
      std::this_thread::sleep_for(delay);
      delay *= 2;
      invocation = client.next();
    }
    if (!invocation.ok()) {
      log.error("runtime: cannot fetch the next invocation",
                {{"error", invocation.error().to_string()}});
      return invocation.error();
    }
    const Logger request_log = log.with({{"request_id", invocation->request_id}});
    InvocationResponse response;
    try {
      response =
          invocation->invalid.empty()
              ? handler(*invocation)
              : InvocationResponse::failure("Runtime.InvalidInvocation", invocation->invalid);
    } catch (const std::exception& e) {
      response = InvocationResponse::failure("UnhandledException", e.what());
    } catch (...) {
      response = InvocationResponse::failure("UnhandledException", "unknown exception");
    }
    Status posted = response.success
                        ? client.post_response(invocation->request_id, response)
                        : client.post_error(invocation->request_id, response.error_type,
                                            response.error_message);
    if (!response.success) {
      request_log.error("invocation failed", {{"error_type", response.error_type},
                                              {"error_message", response.error_message}});
    }
    if (!posted.ok()) {
      request_log.error("runtime: posting the result failed",
                        {{"error", posted.error().to_string()}});
      if (posted.error().code == ErrorCode::kInternal) return posted.error();
      // A rejected response (e.g. too large) is reported as an error so the caller learns of it.
      if (response.success) {
        Status reported = client.post_error(invocation->request_id, "Runtime.PostResponseFailed",
                                            posted.error().to_string());
        if (!reported.ok()) {
          request_log.error("runtime: reporting the failure failed",
                            {{"error", reported.error().to_string()}});
          if (reported.error().code == ErrorCode::kInternal) return reported.error();
        }
      }
    }
  }
  return {};
}

}  // namespace efsas::lambda
