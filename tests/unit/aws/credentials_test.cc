// Credentials providers and the default chain: environment, shared files with profiles, the ECS
// container endpoint and IMDSv2 served by small loopback servers, refresh before expiry.
#include "efsas/aws/credentials.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "efsas/testing/fault_proxy.h"
#include "efsas/testing/process.h"

namespace efsas::aws {
namespace {

using efsas::testing::http_response;
using efsas::testing::LoopbackHttpServer;
using efsas::testing::RecordedRequest;
using efsas::testing::TempDir;
using efsas::testing::write_file;

std::string iso8601(SystemTime time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Serves credentials documents whose key id counts the fetches: AKID1, AKID2, ...
struct CredentialsServer {
  explicit CredentialsServer(std::shared_ptr<ManualClock> clock_in, std::string token = "")
      : clock(std::move(clock_in)),
        required_token(std::move(token)),
        server([this](const RecordedRequest& request) -> std::optional<std::string> {
          if (!required_token.empty() && request.header("Authorization") != required_token) {
            return http_response(401, "{}");
          }
          if (failing) return http_response(500, "{}");
          const int n = ++fetches;
          const nlohmann::json doc = {
              {"AccessKeyId", "AKID" + std::to_string(n)},
              {"SecretAccessKey", "secret" + std::to_string(n)},
              {"Token", "token" + std::to_string(n)},
              {"Expiration", iso8601(clock->now() + std::chrono::hours(1))}};
          return http_response(200, doc.dump(), {{"Content-Type", "application/json"}});
        }) {}

  std::shared_ptr<ManualClock> clock;
  std::string required_token;
  std::atomic<int> fetches{0};
  std::atomic<bool> failing{false};
  LoopbackHttpServer server;
};

TEST(EnvironmentProvider, ReadsLambdaStyleVariables) {
  const Environment env = {{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                           {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                           {"AWS_SESSION_TOKEN", "envtoken"}};
  auto credentials = make_environment_provider(env)->get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "AKIDENV");
  EXPECT_EQ(credentials->secret_access_key, "envsecret");
  EXPECT_EQ(credentials->session_token, "envtoken");
}

TEST(EnvironmentProvider, NeedsBothKeys) {
  auto credentials = make_environment_provider({{"AWS_ACCESS_KEY_ID", "AKIDENV"}})->get();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code, ErrorCode::kNotFound);
}

TEST(ProfileProvider, PicksTheProfileNamedByAwsProfile) {
  TempDir dir;
  write_file(dir.path() / "credentials",
             "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n"
             "[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key=s2\n"
             "aws_session_token = t2\n");
  const Environment base = {{"AWS_SHARED_CREDENTIALS_FILE", (dir.path() / "credentials").string()},
                            {"AWS_CONFIG_FILE", (dir.path() / "config").string()}};
  auto by_default = make_profile_provider(base)->get();
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(by_default->access_key_id, "AKIDDEFAULT");

  Environment dev = base;
  dev["AWS_PROFILE"] = "dev";
  auto credentials = make_profile_provider(dev)->get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "AKIDDEV");
  EXPECT_EQ(credentials->secret_access_key, "s2");
  EXPECT_EQ(credentials->session_token, "t2");
}

TEST(ProfileProvider, FallsBackToTheConfigFileAndHome) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / ".aws");
  write_file(dir.path() / ".aws" / "config",
             "[profile ops]\nregion = eu-west-1\naws_access_key_id = AKIDCFG\n"
             "aws_secret_access_key = s3\n");
  const Environment env = {{"HOME", dir.path().string()}, {"AWS_PROFILE", "ops"}};
  auto credentials = make_profile_provider(env)->get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "AKIDCFG");

  auto missing = make_profile_provider({{"HOME", dir.path().string()}})->get();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(ContainerProvider, FullUriWithAuthorizationTokenFromFile) {
  auto clock = std::make_shared<ManualClock>();
  CredentialsServer creds(clock, "file-token");
  TempDir dir;
  write_file(dir.path() / "token", "file-token\n");
  const Environment env = {
      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.server.endpoint() + "/v2/credentials/abc"},
      {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", (dir.path() / "token").string()},
      {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-the-file-exists"}};
  auto provider = make_container_provider(env, make_curl_transport(), clock);
  auto credentials = provider->get();
  ASSERT_TRUE(credentials.ok()) << credentials.error().to_string();
  EXPECT_EQ(credentials->access_key_id, "AKID1");
  EXPECT_EQ(credentials->session_token, "token1");
  ASSERT_TRUE(credentials->expiration.has_value());
  const auto requests = creds.server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v2/credentials/abc");
}

TEST(ContainerProvider, AuthorizationTokenVariable) {
  auto clock = std::make_shared<ManualClock>();
  CredentialsServer creds(clock, "env-token");
  const Environment env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.server.endpoint() + "/c"},
                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token"}};
  auto credentials = make_container_provider(env, make_curl_transport(), clock)->get();
  ASSERT_TRUE(credentials.ok()) << credentials.error().to_string();
  EXPECT_EQ(credentials->access_key_id, "AKID1");
}

// Records the request instead of sending it: RELATIVE_URI always means the ECS agent address.
class RecordingTransport final : public HttpTransport {
 public:
  Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts&) override {
    last = request;
    return HttpResponse{200, {}, R"({"AccessKeyId":"AKIDREL","SecretAccessKey":"s"})"};
  }
  HttpRequest last;
};

TEST(ContainerProvider, RelativeUriGoesToTheEcsAgentAddress) {
  auto transport = std::make_shared<RecordingTransport>();
  const Environment env = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/xyz"}};
  auto credentials =
      make_container_provider(env, transport, std::make_shared<ManualClock>())->get();
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(credentials->access_key_id, "AKIDREL");
  EXPECT_EQ(transport->last.url(), "http://169.254.170.2/v2/credentials/xyz");
}

TEST(ContainerProvider, RefusesPlainHttpToAnArbitraryHost) {
  const Environment env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://203.0.113.9/creds"}};
  auto credentials = make_container_provider(env, std::make_shared<RecordingTransport>(),
                                             std::make_shared<ManualClock>())
                         ->get();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code, ErrorCode::kInvalidArgument);
}

TEST(ContainerProvider, RefreshesFiveMinutesBeforeExpiry) {
  auto clock = std::make_shared<ManualClock>();
  CredentialsServer creds(clock);
  const Environment env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.server.endpoint()}};
  auto provider = make_container_provider(env, make_curl_transport(), clock);
  ASSERT_EQ(provider->get()->access_key_id, "AKID1");
  clock->advance(std::chrono::minutes(54));
  EXPECT_EQ(provider->get()->access_key_id, "AKID1");  // cached: 6 minutes left
  EXPECT_EQ(creds.fetches.load(), 1);
  clock->advance(std::chrono::minutes(2));
  EXPECT_EQ(provider->get()->access_key_id, "AKID2");  // 4 minutes left: refreshed
  EXPECT_EQ(creds.fetches.load(), 2);
}

// A container provider holding AKID1 (an hour long) three minutes before it expires, its endpoint
// failing from now on: a refresh is due and cannot succeed.
struct FailingRefresh {
  FailingRefresh() {
    EXPECT_EQ(provider->get()->access_key_id, "AKID1");
    creds.failing = true;
    clock->advance(std::chrono::minutes(57));
  }
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  CredentialsServer creds{clock};
  std::shared_ptr<CredentialsProvider> provider =
      make_container_provider({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.server.endpoint()}},
                              make_curl_transport(), clock);
};

TEST(ContainerProvider, KeepsValidCredentialsWhenARefreshFails) {
  FailingRefresh refresh;
  auto& [clock, creds, provider] = refresh;
  auto still = provider->get();
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->access_key_id, "AKID1");
  clock->advance(std::chrono::minutes(4));  // now expired
  EXPECT_FALSE(provider->get().ok());
}

// An endpoint that fails while the cached credentials are still good is not asked again on every
// call (each attempt can take seconds): the next attempt waits ten seconds.
TEST(ContainerProvider, AFailedRefreshIsTriedAgainOnlyAfterAPause) {
  FailingRefresh refresh;
  auto& [clock, creds, provider] = refresh;
  ASSERT_EQ(provider->get()->access_key_id, "AKID1");
  const std::size_t asked = creds.server.request_count();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(provider->get()->access_key_id, "AKID1");
  EXPECT_EQ(creds.server.request_count(), asked);
  clock->advance(std::chrono::seconds(11));
  creds.failing = false;
  EXPECT_EQ(provider->get()->access_key_id, "AKID2");
  EXPECT_EQ(creds.server.request_count(), asked + 1);
}

// So with nothing cached yet: the failure stands for ten seconds instead of costing every caller
// its own attempt (each can take seconds against an endpoint that does not answer).
TEST(ContainerProvider, AFailedFirstFetchIsTriedAgainOnlyAfterAPause) {
  auto clock = std::make_shared<ManualClock>();
  CredentialsServer creds(clock);
  creds.failing = true;
  const Environment env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.server.endpoint()}};
  auto provider = make_container_provider(env, make_curl_transport(), clock);
  EXPECT_FALSE(provider->get().ok());
  EXPECT_EQ(creds.server.request_count(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(provider->get().ok());
  EXPECT_EQ(creds.server.request_count(), 1u);
  creds.failing = false;
  clock->advance(std::chrono::seconds(11));
  auto credentials = provider->get();
  ASSERT_TRUE(credentials.ok()) << credentials.error().to_string();
  EXPECT_EQ(credentials->access_key_id, "AKID1");
  EXPECT_EQ(creds.server.request_count(), 2u);
}

// Returns one fixed body, and counts the requests.
class FixedTransport final : public HttpTransport {
 public:
  explicit FixedTransport(std::string body) : body_(std::move(body)) {}
  Result<HttpResponse> send(const HttpRequest&, const HttpTimeouts&) override {
    ++requests;
    return HttpResponse{200, {}, body_};
  }
  int requests = 0;

 private:
  std::string body_;
};

// A credentials document with a field of the wrong type, or a value that would break a header, is
// an error naming the source (it once threw, and the process died).
TEST(ContainerProvider, ABrokenDocumentIsAnErrorNotACrash) {
  for (const char* body :
       {R"({"AccessKeyId":"AKID","SecretAccessKey":"s","Token":null})",
        R"({"AccessKeyId":5,"SecretAccessKey":"s"})",
        R"({"AccessKeyId":"AKID","SecretAccessKey":""})",
        R"({"AccessKeyId":"AKID","SecretAccessKey":"s","Token":"t\r\nX-Evil: 1"})"}) {
    const Environment env = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"}};
    auto credentials = make_container_provider(env, std::make_shared<FixedTransport>(body),
                                               std::make_shared<ManualClock>())
                           ->get();
    ASSERT_FALSE(credentials.ok()) << body;
    EXPECT_EQ(credentials.error().code, ErrorCode::kDataLoss) << body;
    EXPECT_NE(credentials.error().message.find("container credentials endpoint"), std::string::npos)
        << credentials.error().message;
  }
}

// The authorization token goes into a header: one with a line break would start another header,
// and is refused before anything is sent.
TEST(ContainerProvider, AnAuthorizationTokenWithALineBreakIsRefused) {
  auto transport = std::make_shared<FixedTransport>(R"({"AccessKeyId":"A","SecretAccessKey":"s"})");
  const Environment env = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/creds"},
                           {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Evil: 1"}};
  auto credentials =
      make_container_provider(env, transport, std::make_shared<ManualClock>())->get();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(transport->requests, 0);
}

TEST(ImdsProvider, FetchesASessionTokenThenTheRoleCredentials) {
  auto clock = std::make_shared<ManualClock>();
  std::atomic<int> fetches{0};
  LoopbackHttpServer imds([&](const RecordedRequest& r) -> std::optional<std::string> {
    if (r.method == "PUT" && r.target == "/latest/api/token") {
      if (r.header("X-aws-ec2-metadata-token-ttl-seconds").empty()) return http_response(400, "");
      return http_response(200, "imds-session");
    }
    if (r.header("X-aws-ec2-metadata-token") != "imds-session") return http_response(401, "");
    if (r.target == "/latest/meta-data/iam/security-credentials/") {
      return http_response(200, "efs-role");
    }
    if (r.target == "/latest/meta-data/iam/security-credentials/efs-role") {
      const int n = ++fetches;
      const nlohmann::json doc = {{"Code", "Success"},
                                  {"AccessKeyId", "AKIDIMDS" + std::to_string(n)},
                                  {"SecretAccessKey", "s"},
                                  {"Token", "t"},
                                  {"Expiration", iso8601(clock->now() + std::chrono::hours(6))}};
      return http_response(200, doc.dump());
    }
    return http_response(404, "");
  });
  const Environment env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.endpoint()}};
  auto provider = make_imds_provider(env, make_curl_transport(), clock);
  auto credentials = provider->get();
  ASSERT_TRUE(credentials.ok()) << credentials.error().to_string();
  EXPECT_EQ(credentials->access_key_id, "AKIDIMDS1");
  EXPECT_EQ(imds.request_count(), 3u);
  clock->advance(std::chrono::hours(5) + std::chrono::minutes(56));
  EXPECT_EQ(provider->get()->access_key_id, "AKIDIMDS2");
}

TEST(ImdsProvider, DisabledByEnvironment) {
  // In any case, as the SDKs read it.
  for (const char* value : {"true", "TRUE", "True"}) {
    auto transport = std::make_shared<RecordingTransport>();
    auto credentials = make_imds_provider({{"AWS_EC2_METADATA_DISABLED", value}}, transport,
                                          std::make_shared<ManualClock>())
                           ->get();
    ASSERT_FALSE(credentials.ok()) << value;
    EXPECT_EQ(credentials.error().code, ErrorCode::kNotFound) << value;
    EXPECT_TRUE(transport->last.host.empty()) << value << ": IMDS was asked";
  }
}

TEST(DefaultChain, EnvironmentComesFirstAndTheContainerIsNotAsked) {
  auto clock = std::make_shared<ManualClock>();
  CredentialsServer creds(clock);
  TempDir dir;
  write_file(dir.path() / "credentials",
             "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = s\n");
  Environment env = {{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                     {"AWS_SECRET_ACCESS_KEY", "s"},
                     {"AWS_SHARED_CREDENTIALS_FILE", (dir.path() / "credentials").string()},
                     {"AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.server.endpoint()},
                     {"AWS_EC2_METADATA_DISABLED", "true"}};
  EXPECT_EQ(make_default_provider_chain(env, make_curl_transport(), clock)->get()->access_key_id,
            "AKIDENV");
  env.erase("AWS_ACCESS_KEY_ID");
  EXPECT_EQ(make_default_provider_chain(env, make_curl_transport(), clock)->get()->access_key_id,
            "AKIDFILE");
  EXPECT_EQ(creds.fetches.load(), 0);
  env.erase("AWS_SHARED_CREDENTIALS_FILE");
  env["HOME"] = dir.path().string();  // no ~/.aws there
  EXPECT_EQ(make_default_provider_chain(env, make_curl_transport(), clock)->get()->access_key_id,
            "AKID1");
}

TEST(DefaultChain, ExplainsEverySourceWhenNoneHasCredentials) {
  TempDir dir;
  const Environment env = {{"HOME", dir.path().string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  auto credentials =
      make_default_provider_chain(env, make_curl_transport(), std::make_shared<ManualClock>())
          ->get();
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code, ErrorCode::kNotFound);
  for (const char* source : {"environment", "profile", "container", "imds"}) {
    EXPECT_NE(credentials.error().message.find(source), std::string::npos) << source;
  }
}

}  // namespace
}  // namespace efsas::aws
