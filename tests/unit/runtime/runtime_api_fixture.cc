// Starting and driving tools/lambda-runtime-api for a test.
#include "runtime_api_fixture.h"

#include <gtest/gtest.h>

#include <chrono>

namespace efsas::testing {

RuntimeApiFixture::RuntimeApiFixture() {
  ProcessOptions options;
  options.argv = {
      "python3",       (source_dir() / "tools/lambda-runtime-api/lambda_runtime_api.py").string(),
      "--port",        "0",
      "--deadline-ms", "60000"};
  options.log_file = dir_.path() / "runtime-api.log";
  process_ = std::make_unique<Process>(options);
  port_ = wait_for_logged_port(
      *process_, "lambda-runtime-api listening on 127.0.0.1:", std::chrono::seconds(20));
  if (port_ == 0) {
    ADD_FAILURE() << "the Runtime API fixture did not start: " << process_->log();
  }
  control_ = lambda::make_http_transport(host_port());
}

std::string RuntimeApiFixture::enqueue(const std::string& payload, std::optional<int> deadline_ms) {
  return post_event(payload,
                    deadline_ms ? std::optional(std::to_string(*deadline_ms)) : std::nullopt);
}

std::string RuntimeApiFixture::enqueue_without_deadline(const std::string& payload) {
  return post_event(payload, "none");
}

std::string RuntimeApiFixture::post_event(const std::string& payload,
                                          std::optional<std::string> deadline) {
  lambda::HttpRequest request{"POST", "/_fixture/events", {}, payload};
  if (deadline) request.headers.push_back({"X-Fixture-Deadline-Ms", std::move(*deadline)});
  auto response = control_->send(request);
  // A failure must not abort the binary: the fixture process is stopped by destructors.
  if (!response.ok()) {
    ADD_FAILURE() << response.error().to_string();
    return "";
  }
  return nlohmann::json::parse(response->body).at("request_id").get<std::string>();
}

nlohmann::json RuntimeApiFixture::results(int wait_seconds) {
  auto response =
      control_->send({"GET", "/_fixture/results?timeout=" + std::to_string(wait_seconds), {}, {}});
  if (!response.ok()) {
    ADD_FAILURE() << response.error().to_string();
    return nlohmann::json{{"invocations", nlohmann::json::array()}, {"init_error", nullptr}};
  }
  return nlohmann::json::parse(response->body);
}

}  // namespace efsas::testing
