// The Runtime API loop against tools/lambda-runtime-api, a local stand-in for Lambda's service:
// success, handler errors and exceptions, init errors, a Runtime API that goes away, and the
// deadline header (absent, malformed).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "efsas/lambda/runtime.h"
#include "efsas/testing/silent_listener.h"
#include "runtime_api_fixture.h"

namespace efsas::lambda {
namespace {

using nlohmann::json;
using testing::RuntimeApiFixture;

TEST(RuntimeLoop, DeliversEventAndPostsTheHandlersResponse) {
  RuntimeApiFixture api;
  const std::string id = api.enqueue(R"({"source":"aws.events"})");
  auto transport = make_http_transport(api.host_port());

  Invocation seen;
  const auto before = std::chrono::system_clock::now();
  Status status = run_runtime_loop(
      *transport,
      [&](const Invocation& invocation) {
        seen = invocation;
        return InvocationResponse::ok(json{{"echo", json::parse(invocation.payload)}}.dump());
      },
      Logger(), LoopOptions{1});
  ASSERT_TRUE(status.ok()) << status.error().to_string();

  EXPECT_EQ(seen.request_id, id);
  EXPECT_EQ(json::parse(seen.payload), json::parse(R"({"source":"aws.events"})"));
  EXPECT_NE(seen.function_arn.find("arn:aws:lambda:"), std::string::npos);
  EXPECT_NE(seen.trace_id.find("Root=1-"), std::string::npos);
  // The fixture gives 60 s; the deadline must be read as an absolute wall-clock time.
  ASSERT_TRUE(seen.deadline.has_value());
  EXPECT_GT(*seen.deadline, before + std::chrono::seconds(50));
  EXPECT_LT(*seen.deadline, before + std::chrono::seconds(70));

  const json results = api.results();
  ASSERT_EQ(results["invocations"].size(), 1u);
  EXPECT_EQ(results["invocations"][0]["status"], "succeeded");
  EXPECT_EQ(results["invocations"][0]["response"]["echo"]["source"], "aws.events");
}

TEST(RuntimeLoop, ReportsHandlerErrorsAndExceptionsAndKeepsServing) {
  RuntimeApiFixture api;
  api.enqueue(R"({"n":1})");
  api.enqueue(R"({"n":2})");
  api.enqueue(R"({"n":3})");
  auto transport = make_http_transport(api.host_port());

  int calls = 0;
  Status status = run_runtime_loop(
      *transport,
      [&](const Invocation&) -> InvocationResponse {
        ++calls;
        if (calls == 1) return InvocationResponse::failure("ScanPartial", "deadline too close");
        if (calls == 2) throw std::runtime_error("subnet lookup exploded");
        return InvocationResponse::ok(R"({"ok":true})");
      },
      Logger(), LoopOptions{3});
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(calls, 3);

  const json invocations = api.results()["invocations"];
  ASSERT_EQ(invocations.size(), 3u);
  EXPECT_EQ(invocations[0]["status"], "failed");
  EXPECT_EQ(invocations[0]["error"]["errorType"], "ScanPartial");
  EXPECT_EQ(invocations[0]["error"]["errorMessage"], "deadline too close");
  EXPECT_EQ(invocations[0]["error_type_header"], "ScanPartial");
  EXPECT_EQ(invocations[1]["status"], "failed");
  EXPECT_EQ(invocations[1]["error"]["errorType"], "UnhandledException");
  EXPECT_EQ(invocations[1]["error"]["errorMessage"], "subnet lookup exploded");
  EXPECT_EQ(invocations[2]["status"], "succeeded");
  EXPECT_EQ(invocations[2]["response"]["ok"], true);
}

TEST(RuntimeLoop, InitErrorIsReportedWithTypeAndMessage) {
  RuntimeApiFixture api;
  auto transport = make_http_transport(api.host_port());
  RuntimeClient client(*transport);
  Status status =
      client.post_init_error("Runtime.InvalidConfiguration", "EFS_FILE_SYSTEM_ID is required");
  ASSERT_TRUE(status.ok()) << status.error().to_string();

  const json results = api.results();
  ASSERT_TRUE(results["init_error"].is_object());
  EXPECT_EQ(results["init_error"]["body"]["errorType"], "Runtime.InvalidConfiguration");
  EXPECT_EQ(results["init_error"]["body"]["errorMessage"], "EFS_FILE_SYSTEM_ID is required");
  EXPECT_EQ(results["init_error"]["error_type_header"], "Runtime.InvalidConfiguration");
}

TEST(RuntimeLoop, ReturnsAnErrorWhenTheRuntimeApiGoesAway) {
  auto api = std::make_unique<RuntimeApiFixture>();
  const std::string host_port = api->host_port();
  api->stop();
  auto transport = make_http_transport(host_port);
  int calls = 0;
  Status status = run_runtime_loop(
      *transport,
      [&](const Invocation&) {
        ++calls;
        return InvocationResponse::ok("{}");
      },
      Logger());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_EQ(calls, 0);
}

// A post the Runtime API takes but never answers fails after the transport's limit, instead of
// holding the environment until Lambda times the invocation out. Here a socket that listens and
// never reads.
TEST(RuntimeLoop, APostThatIsNeverAnsweredFailsAfterItsLimit) {
  testing::SilentListener silent(testing::SilentListener::Kind::kNeverReads, "127.0.0.1");
  ASSERT_TRUE(silent.error().empty()) << silent.error();
  auto transport = make_http_transport(silent.host_port(), std::chrono::milliseconds(300));
  const auto started = std::chrono::steady_clock::now();
  const Status posted =
      RuntimeClient(*transport).post_response("req-1", InvocationResponse::ok("{}"));
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(posted.ok());
  EXPECT_EQ(posted.error().code, ErrorCode::kIo) << posted.error().to_string();
  // It waited for its limit (libcurl's timers may fire a fraction of a millisecond early), and
  // no longer.
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(RuntimeLoop, ResponseForAnUnknownRequestIsAnError) {
  RuntimeApiFixture api;
  auto transport = make_http_transport(api.host_port());
  RuntimeClient client(*transport);
  Status status = client.post_response("not-a-request", InvocationResponse::ok("{}"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("400"), std::string::npos);
}

// A transport that serves scripted invocations, one per Lambda-Runtime-Deadline-Ms value (no
// header for nullopt), with request ids req-1, req-2, ..., and records what the loop posts back.
class ScriptedTransport final : public RuntimeTransport {
 public:
  int response_status = 202;
  std::vector<std::optional<std::string>> deadline_headers{"1800000000000"};
  std::vector<HttpRequest> posted;
  // The first GETs fail: with no answer (0), or with this status.
  std::vector<int> next_failures;
  int gets = 0;

  Result<HttpResponse> send(const HttpRequest& request) override {
    if (request.method == "GET") {
      ++gets;
      if (!next_failures.empty()) {
        const int status = next_failures.front();
        next_failures.erase(next_failures.begin());
        if (status == 0) return make_error(ErrorCode::kIo, "connection reset");
        return HttpResponse{status, {}, "busy"};
      }
      if (served_ >= deadline_headers.size()) return make_error(ErrorCode::kIo, "no more events");
      HttpResponse next{
          200, {{"lambda-runtime-aws-request-id", "req-" + std::to_string(++served_)}}, "{}"};
      if (const auto& deadline = deadline_headers[served_ - 1]) {
        next.headers.emplace("lambda-runtime-deadline-ms", *deadline);
      }
      return next;
    }
    posted.push_back(request);
    return HttpResponse{request.path.ends_with("/response") ? response_status : 202, {}, ""};
  }

 private:
  std::size_t served_ = 0;
};

TEST(RuntimeLoop, ARejectedResponseIsReportedAsAnError) {
  ScriptedTransport transport;
  transport.response_status = 413;  // e.g. a payload over Lambda's limit
  Status status = run_runtime_loop(
      transport, [](const Invocation&) { return InvocationResponse::ok("{}"); }, Logger(),
      LoopOptions{1});
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(transport.posted.size(), 2u);
  EXPECT_EQ(transport.posted[0].path, "/2018-06-01/runtime/invocation/req-1/response");
  EXPECT_EQ(transport.posted[1].path, "/2018-06-01/runtime/invocation/req-1/error");
  const auto body = json::parse(transport.posted[1].body);
  EXPECT_EQ(body["errorType"], "Runtime.PostResponseFailed");
  EXPECT_NE(body["errorMessage"].get<std::string>().find("413"), std::string::npos);
}

// A /next that fails for a moment (a reset connection, a 502) is asked again, so a warm
// environment (and its scan cache) is kept; one that keeps failing ends the loop after three
// retries, and a 500 (the container error) at once.
TEST(RuntimeLoop, AFailedNextIsAskedAgainExceptAfterAContainerError) {
  const auto handler = [](const Invocation&) { return InvocationResponse::ok("{}"); };
  LoopOptions options{1};
  options.retry_delay = std::chrono::milliseconds(1);

  ScriptedTransport hiccup;
  hiccup.next_failures = {0, 502, 0};
  EXPECT_TRUE(run_runtime_loop(hiccup, handler, Logger(), options).ok());
  EXPECT_EQ(hiccup.gets, 4);
  ASSERT_EQ(hiccup.posted.size(), 1u);

  ScriptedTransport gone;
  gone.next_failures = {0, 0, 0, 0, 0};
  EXPECT_FALSE(run_runtime_loop(gone, handler, Logger(), options).ok());
  EXPECT_EQ(gone.gets, 4);
  EXPECT_TRUE(gone.posted.empty());

  ScriptedTransport broken;
  broken.next_failures = {500};
  const Status status = run_runtime_loop(broken, handler, Logger(), options);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInternal);
  EXPECT_EQ(broken.gets, 1);
}

// A 500 from the Runtime API is its container error: the state cannot be recovered, and the
// runtime exits at once (the loop returns the error) instead of serving the next invocation.
TEST(RuntimeLoop, AContainerErrorEndsTheLoop) {
  ScriptedTransport transport;
  transport.response_status = 500;
  transport.deadline_headers = {"1800000000000", "1800000000000", "1800000000000"};
  int handled = 0;
  Status status = run_runtime_loop(
      transport,
      [&](const Invocation&) {
        ++handled;
        return InvocationResponse::ok("{}");
      },
      Logger(), LoopOptions{3});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("500"), std::string::npos) << status.error().message;
  EXPECT_EQ(handled, 1);
  ASSERT_EQ(transport.posted.size(), 1u);
  EXPECT_EQ(transport.posted[0].path, "/2018-06-01/runtime/invocation/req-1/response");
}

TEST(RuntimeLoop, DeadlineHeaderIsParsedAndABadOneMakesTheInvocationInvalid) {
  ScriptedTransport transport;
  RuntimeClient client(transport);
  auto invocation = client.next();
  ASSERT_TRUE(invocation.ok());
  EXPECT_EQ(invocation->deadline, SystemTime{std::chrono::milliseconds{1800000000000}});
  EXPECT_EQ(invocation->invalid, "");

  for (const std::string value :
       {"", "not-a-number", "1800000000000abc", "-5", " 1800000000000", "99999999999999999999"}) {
    ScriptedTransport bad;
    bad.deadline_headers = {value};
    auto rejected = RuntimeClient(bad).next();
    ASSERT_TRUE(rejected.ok()) << rejected.error().to_string();
    EXPECT_FALSE(rejected->deadline.has_value()) << value;
    EXPECT_EQ(rejected->invalid, "bad Lambda-Runtime-Deadline-Ms: " + value);
  }
  // A deadline past what the clock can hold is held to its end instead of overflowing.
  ScriptedTransport far;
  far.deadline_headers = {"9000000000000000"};  // the year 287,000
  auto distant = RuntimeClient(far).next();
  ASSERT_TRUE(distant.ok());
  ASSERT_TRUE(distant->deadline.has_value());
  EXPECT_GT(*distant->deadline, SystemTime{std::chrono::milliseconds{1800000000000}});

  // No header at all: an invocation without a deadline, not one that ended in 1970.
  ScriptedTransport none;
  none.deadline_headers = {std::nullopt};
  auto unbounded = RuntimeClient(none).next();
  ASSERT_TRUE(unbounded.ok());
  EXPECT_FALSE(unbounded->deadline.has_value());
  EXPECT_EQ(unbounded->invalid, "");
}

TEST(RuntimeLoop, AnInvocationWithABadDeadlineIsAnsweredWithAnErrorAndTheLoopGoesOn) {
  ScriptedTransport transport;
  transport.deadline_headers = {"soon", "1800000000000"};
  std::vector<std::string> handled;
  Status status = run_runtime_loop(
      transport,
      [&](const Invocation& invocation) {
        handled.push_back(invocation.request_id);
        return InvocationResponse::ok("{}");
      },
      Logger(), LoopOptions{2});
  ASSERT_TRUE(status.ok()) << status.error().to_string();
  EXPECT_EQ(handled, std::vector<std::string>{"req-2"});
  ASSERT_EQ(transport.posted.size(), 2u);
  EXPECT_EQ(transport.posted[0].path, "/2018-06-01/runtime/invocation/req-1/error");
  const auto body = json::parse(transport.posted[0].body);
  EXPECT_EQ(body["errorType"], "Runtime.InvalidInvocation");
  EXPECT_EQ(body["errorMessage"], "bad Lambda-Runtime-Deadline-Ms: soon");
  EXPECT_EQ(transport.posted[1].path, "/2018-06-01/runtime/invocation/req-2/response");
}

}  // namespace
}  // namespace efsas::lambda
