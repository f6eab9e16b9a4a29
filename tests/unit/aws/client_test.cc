// AwsClient over a real curl transport against a loopback server: signing headers per protocol,
// error parsing, the retry schedule, timeouts, connection reuse, and no secret in debug logs.
#include "efsas/aws/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <thread>

#include "efsas/aws/sigv4.h"
#include "efsas/testing/fault_proxy.h"

namespace efsas::aws {
namespace {

using efsas::testing::http_response;
using efsas::testing::LoopbackHttpServer;
using efsas::testing::RecordedRequest;

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kToken = "SESSIONTOKENSHOULDNEVERBELOGGED";

struct Fixture {
  explicit Fixture(efsas::testing::HttpHandler handler, int max_attempts = 3, int retry_quota = 500)
      : clock(std::make_shared<ManualClock>()),
        sink(std::make_shared<MemorySink>()),
        server(std::move(handler)) {
    AwsClientConfig config;
    config.region = "us-east-1";
    for (const auto service : {Service::kEfs, Service::kEc2, Service::kSsm, Service::kEcs}) {
      config.endpoints[service] = parse_endpoint_url(server.endpoint()).value();
    }
    config.credentials = make_static_provider({"AKIDEXAMPLE", kSecret, kToken, std::nullopt});
    config.transport = make_curl_transport();
    config.clock = clock;
    config.retry.max_attempts = max_attempts;
    config.retry.retry_quota = retry_quota;
    config.random = [] { return 0.5; };
    config.timeouts = {std::chrono::milliseconds(1000), std::chrono::milliseconds(300)};
    config.logger = Logger(sink, LogLevel::kDebug, clock);
    client = std::make_unique<AwsClient>(std::move(config));
  }

  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<MemorySink> sink;
  LoopbackHttpServer server;
  std::unique_ptr<AwsClient> client;
};

ApiRequest ssm_get() {
  ApiRequest request;
  request.service = Service::kSsm;
  request.protocol = Protocol::kJson11;
  request.operation = "GetParameter";
  request.body = R"({"Name":"/x"})";
  return request;
}

// Fails the first `failures` requests with `failure`, then answers 200.
efsas::testing::HttpHandler fail_then_succeed(int failures, std::optional<std::string> failure) {
  auto seen = std::make_shared<std::atomic<int>>(0);
  return [=](const RecordedRequest&) -> std::optional<std::string> {
    if (++*seen <= failures) return failure;
    return http_response(200, R"({"Parameter":{"Name":"/x","Value":"v"}})");
  };
}

TEST(AwsClient, SignsJson11RequestsWithTargetAndContentType) {
  Fixture f(fail_then_succeed(0, std::nullopt));
  auto response = f.client->call(ssm_get());
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  const auto requests = f.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.header("X-Amz-Target"), "AmazonSSM.GetParameter");
  EXPECT_EQ(r.header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r.header("X-Amz-Security-Token"), kToken);
  EXPECT_EQ(r.header("X-Amz-Date"), format_amz_date(f.clock->now()));
  const std::string auth = r.header("Authorization");
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << auth;
  EXPECT_NE(auth.find("/us-east-1/ssm/aws4_request"), std::string::npos);
  EXPECT_NE(auth.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                      "x-amz-target"),
            std::string::npos)
      << auth;
}

TEST(AwsClient, RetriesServerErrorsThenSucceeds) {
  Fixture f(fail_then_succeed(2, http_response(500, R"({"__type":"InternalFailure"})")));
  auto response = f.client->call(ssm_get());
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(f.server.request_count(), 3u);
  // Full jitter with a fixed draw of 0.5: 0.5 * 1 s, then 0.5 * 2 s.
  EXPECT_EQ(f.clock->total_slept(), std::chrono::milliseconds(1500));
}

TEST(AwsClient, GivesUpAfterMaxAttempts) {
  Fixture f(fail_then_succeed(100, http_response(503, R"({"__type":"ServiceUnavailable"})",
                                                 {{"x-amzn-RequestId", "req-503"}})),
            4);
  auto response = f.client->call(ssm_get());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(f.server.request_count(), 4u);
  EXPECT_EQ(response.error().code, ErrorCode::kRemote);
  EXPECT_EQ(response.error().remote_code, "ServiceUnavailable");
  EXPECT_EQ(response.error().request_id, "req-503");
  EXPECT_TRUE(response.error().retryable);
}

TEST(AwsClient, NeverRetriesAClientError) {
  Fixture f(fail_then_succeed(
      100,
      http_response(400, R"({"__type":"com.amazonaws.ssm#ParameterNotFound","message":"nope"})",
                    {{"x-amzn-RequestId", "req-1"}})));
  auto response = f.client->call(ssm_get());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(f.server.request_count(), 1u);
  EXPECT_EQ(response.error().remote_code, "ParameterNotFound");
  EXPECT_EQ(response.error().request_id, "req-1");
  EXPECT_NE(response.error().message.find("nope"), std::string::npos);
  EXPECT_FALSE(response.error().retryable);
  EXPECT_EQ(f.clock->total_slept().count(), 0);
}

// A server whose clock is `ahead` of the client's start time and that, as AWS does, refuses a
// signature more than five minutes off its own time with `code`, stating its time in Date.
efsas::testing::HttpHandler checks_signing_time(std::chrono::seconds ahead, std::string code) {
  const SystemTime server_now = ManualClock().now() + ahead;
  return [=](const RecordedRequest& request) -> std::optional<std::string> {
    std::tm tm{};
    const std::string amz_date = request.header("X-Amz-Date");
    if (::strptime(amz_date.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) {
      return http_response(400, R"({"__type":"MissingAuthenticationToken"})");
    }
    const auto signed_at = system_time_at(::timegm(&tm));
    if (signed_at < server_now - std::chrono::minutes(5) ||
        signed_at > server_now + std::chrono::minutes(5)) {
      return http_response(403,
                           R"({"__type":")" + code + R"(","message":"Signature expired: )" +
                               amz_date + " is now earlier than " +
                               format_amz_date(server_now - std::chrono::minutes(5)) + R"("})",
                           {{"Date", format_http_date(server_now)}});
    }
    return http_response(200, R"({"Parameter":{"Name":"/x","Value":"v"}})",
                         {{"Date", format_http_date(server_now)}});
  };
}

// A machine whose clock is an hour behind: the refusal's Date tells the client AWS's time, the
// call is signed again with it and succeeds, and later calls are signed right the first time.
TEST(AwsClient, AClockAnHourOffIsCorrectedFromTheRefusalsDate) {
  Fixture f(checks_signing_time(std::chrono::hours(1), "InvalidSignatureException"));
  auto response = f.client->call(ssm_get());
  ASSERT_TRUE(response.ok()) << response.error().to_string();
  EXPECT_EQ(f.server.request_count(), 2u);
  EXPECT_NEAR(std::chrono::duration<double>(f.client->clock_offset()).count(), 3600.0, 5.0);
  ASSERT_TRUE(f.client->call(ssm_get()).ok());
  EXPECT_EQ(f.server.request_count(), 3u);
  bool logged = false;
  for (const auto& line : f.sink->lines()) {
    logged = logged || line.find("aws clock skew corrected") != std::string::npos;
  }
  EXPECT_TRUE(logged);
}

// A clock ahead of AWS's (RequestInTheFuture, as EC2 says it) is corrected the same way.
TEST(AwsClient, AClockAheadIsCorrectedToo) {
  Fixture f(checks_signing_time(-std::chrono::hours(2), "RequestTimeTooSkewed"));
  ASSERT_TRUE(f.client->call(ssm_get()).ok());
  EXPECT_EQ(f.server.request_count(), 2u);
  EXPECT_NEAR(std::chrono::duration<double>(f.client->clock_offset()).count(), -7200.0, 5.0);
}

// A signature refused while the clocks agree is wrong for another reason (a bad secret key): it
// is not retried, and the clock is left alone.
TEST(AwsClient, ASignatureRefusedWithTheClocksInAgreementIsNotRetried) {
  const SystemTime now = ManualClock().now();
  Fixture f(fail_then_succeed(
      100, http_response(403, R"({"__type":"InvalidSignatureException","message":"bad"})",
                         {{"Date", format_http_date(now)}})));
  auto response = f.client->call(ssm_get());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().remote_code, "InvalidSignatureException");
  EXPECT_FALSE(response.error().retryable);
  EXPECT_EQ(f.server.request_count(), 1u);
  EXPECT_EQ(f.client->clock_offset().count(), 0);
}

TEST(AwsClient, RetriesThrottlingAndDroppedConnections) {
  Fixture throttled(fail_then_succeed(
      2, http_response(400, R"({"message":"Rate exceeded"})",
                       {{"x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/"}})));
  EXPECT_TRUE(throttled.client->call(ssm_get()).ok());
  EXPECT_EQ(throttled.server.request_count(), 3u);

  Fixture dropped(fail_then_succeed(2, std::nullopt));
  EXPECT_TRUE(dropped.client->call(ssm_get()).ok());
  EXPECT_EQ(dropped.server.request_count(), 3u);
}

TEST(AwsClient, AnEmptyRetryQuotaStopsRetrying) {
  Fixture f(fail_then_succeed(100, http_response(500, R"({"__type":"InternalFailure"})")), 3, 12);
  EXPECT_FALSE(f.client->call(ssm_get()).ok());
  EXPECT_EQ(f.server.request_count(), 3u);  // two retries, 5 tokens each
  EXPECT_EQ(f.client->retry_tokens(), 2);
  EXPECT_FALSE(f.client->call(ssm_get()).ok());
  EXPECT_EQ(f.server.request_count(), 4u);  // no tokens for a retry: sent once
}

TEST(AwsClient, RequestTimeoutIsRetriedAndReported) {
  Fixture f(
      [](const RecordedRequest&) -> std::optional<std::string> {
        std::this_thread::sleep_for(std::chrono::milliseconds(600));
        return http_response(200, "{}");
      },
      2);
  auto response = f.client->call(ssm_get());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout);
  EXPECT_TRUE(response.error().retryable);
  EXPECT_EQ(f.server.request_count(), 2u);
}

// On Lambda the calls end before the invocation does: no retry starts whose backoff would run
// past the deadline, and nothing is sent with less than kShortestAttempt left.
TEST(AwsClient, ADeadlineStopsRetriesThatCouldNotFinishInTime) {
  Fixture f(
      [](const RecordedRequest&) -> std::optional<std::string> {
        return http_response(500, R"({"__type":"InternalServerError"})");
      },
      5);
  auto unbounded = f.client->call(ssm_get());
  ASSERT_FALSE(unbounded.ok());
  EXPECT_EQ(f.server.request_count(), 5u);

  f.server.clear_requests();
  const auto slept_before = f.clock->total_slept();
  const auto deadline = f.clock->steady_now() + std::chrono::milliseconds(2500);
  const AwsClient bounded = f.client->with_deadline(deadline);
  auto response = bounded.call(ssm_get());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().remote_code, "InternalServerError");  // the last answer, as it was
  EXPECT_GE(f.server.request_count(), 1u);
  EXPECT_LT(f.server.request_count(), 5u);
  EXPECT_LE(f.clock->total_slept() - slept_before + AwsClient::kShortestAttempt,
            std::chrono::milliseconds(2500));
}

TEST(AwsClient, NothingIsSentWhenTheDeadlineIsTooClose) {
  Fixture f(fail_then_succeed(0, std::nullopt));
  const AwsClient bounded =
      f.client->with_deadline(f.clock->steady_now() + std::chrono::milliseconds(100));
  auto response = bounded.call(ssm_get());
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kTimeout);
  EXPECT_NE(response.error().message.find("deadline"), std::string::npos);
  EXPECT_EQ(f.server.request_count(), 0u);
  // The client it came from has no deadline.
  EXPECT_TRUE(f.client->call(ssm_get()).ok());
}

TEST(AwsClient, ParsesQueryProtocolXmlErrors) {
  Fixture f([](const RecordedRequest&) -> std::optional<std::string> {
    return http_response(400,
                         "<?xml version=\"1.0\"?><Response><Errors><Error><Code>"
                         "InvalidSubnetID.NotFound</Code><Message>The subnet ID 'subnet-1' does "
                         "not exist</Message></Error></Errors><RequestID>ec2-req</RequestID>"
                         "</Response>");
  });
  ApiRequest request;
  request.service = Service::kEc2;
  request.protocol = Protocol::kQuery;
  request.operation = "DescribeSubnets";
  request.body = "Action=DescribeSubnets&Version=2016-11-15";
  auto response = f.client->call(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().remote_code, "InvalidSubnetID.NotFound");
  EXPECT_EQ(response.error().request_id, "ec2-req");
  EXPECT_NE(response.error().message.find("does not exist"), std::string::npos);
  EXPECT_FALSE(response.error().retryable);
  EXPECT_EQ(f.server.requests()[0].header("Content-Type"),
            "application/x-www-form-urlencoded; charset=utf-8");
}

TEST(AwsClient, ReusesItsConnection) {
  Fixture f(fail_then_succeed(0, std::nullopt));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(f.client->call(ssm_get()).ok());
  EXPECT_EQ(f.server.request_count(), 5u);
  EXPECT_EQ(f.server.connection_count(), 1u);
}

TEST(AwsClient, DebugLogsNeverCarrySecrets) {
  Fixture f(fail_then_succeed(1, http_response(500, "{}")));
  ASSERT_TRUE(f.client->call(ssm_get()).ok());
  const auto lines = f.sink->lines();
  ASSERT_GE(lines.size(), 3u);  // request, retry, request, response...
  const std::string signature =
      f.server.requests()[0]
          .header("Authorization")
          .substr(f.server.requests()[0].header("Authorization").find("Signature=") + 10);
  bool saw_redacted = false;
  for (const auto& line : lines) {
    EXPECT_EQ(line.find(kSecret), std::string::npos) << line;
    EXPECT_EQ(line.find(kToken), std::string::npos) << line;
    EXPECT_EQ(line.find(signature), std::string::npos) << line;
    EXPECT_EQ(line.find("AKIDEXAMPLE"), std::string::npos) << line;
    saw_redacted = saw_redacted || line.find("<redacted>") != std::string::npos;
  }
  EXPECT_TRUE(saw_redacted);
}

TEST(AwsClient, UsableFromManyThreads) {
  Fixture f(fail_then_succeed(0, std::nullopt));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) ok += f.client->call(ssm_get()).ok() ? 1 : 0;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 40);
}

TEST(AwsClientFactory, BuildsFromTheEnvironment) {
  LoopbackHttpServer server(fail_then_succeed(0, std::nullopt));
  const Environment env = {{"AWS_REGION", "eu-west-1"},
                           {"AWS_ENDPOINT_URL_SSM", server.endpoint()},
                           {"AWS_ACCESS_KEY_ID", "AKIDENV"},
                           {"AWS_SECRET_ACCESS_KEY", "s"},
                           {"AWS_MAX_ATTEMPTS", "5"}};
  auto client = make_aws_client(env, make_curl_transport(), std::make_shared<ManualClock>());
  ASSERT_TRUE(client.ok()) << client.error().to_string();
  EXPECT_EQ(client.value()->region(), "eu-west-1");
  ASSERT_TRUE(client.value()->call(ssm_get()).ok());
  EXPECT_NE(server.requests()[0].header("Authorization").find("/eu-west-1/ssm/"),
            std::string::npos);
  EXPECT_FALSE(make_aws_client({}, make_curl_transport(), std::make_shared<ManualClock>()).ok());
  for (const char* bad : {"3x", "0", "-1", " 3", "1e2", "101"}) {
    Environment wrong = env;
    wrong["AWS_MAX_ATTEMPTS"] = bad;
    auto refused = make_aws_client(wrong, make_curl_transport(), std::make_shared<ManualClock>());
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("AWS_MAX_ATTEMPTS"), std::string::npos);
  }
}

}  // namespace
}  // namespace efsas::aws
