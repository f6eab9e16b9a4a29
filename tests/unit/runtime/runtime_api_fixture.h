// tools/lambda-runtime-api, a local stand-in for Lambda's Runtime API, started on a free loopback
// port for one test: events are queued through its control endpoints and the responses and errors
// the runtime posted are read back. Shared by the runtime loop's tests and file-monitor's Lambda
// scenarios.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "efsas/lambda/runtime.h"
#include "efsas/testing/process.h"

namespace efsas::testing {

class RuntimeApiFixture {
 public:
  RuntimeApiFixture();

  // "127.0.0.1:port", the value of AWS_LAMBDA_RUNTIME_API.
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
  // Queues one event (with its own deadline when given); returns its request id.
  std::string enqueue(const std::string& payload, std::optional<int> deadline_ms = std::nullopt);
  // Queues one event sent with no Lambda-Runtime-Deadline-Ms header.
  std::string enqueue_without_deadline(const std::string& payload);
  // {"invocations": [...], "init_error": ...} once every queued event is answered, or after
  // `wait_seconds`.
  nlohmann::json results(int wait_seconds = 10);
  // Stops the server, as if the Runtime API went away.
  void stop() { process_.reset(); }

 private:
  // Queues one event; the X-Fixture-Deadline-Ms value when given.
  std::string post_event(const std::string& payload, std::optional<std::string> deadline);

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
  std::unique_ptr<lambda::RuntimeTransport> control_;
};

}  // namespace efsas::testing
