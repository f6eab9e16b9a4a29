// Endpoint resolution with SDK-style overrides, region resolution, and the standard retry mode.
#include <gtest/gtest.h>

#include "efsas/aws/endpoints.h"
#include "efsas/aws/retry.h"
#include "efsas/testing/process.h"

namespace efsas::aws {
namespace {

using efsas::testing::TempDir;
using efsas::testing::write_file;

TEST(Endpoints, StandardHostsPerServiceAndRegion) {
  EXPECT_EQ(resolve_endpoint(Service::kEfs, "us-east-1", {})->host,
            "elasticfilesystem.us-east-1.amazonaws.com");
  EXPECT_EQ(resolve_endpoint(Service::kEc2, "eu-west-3", {})->host, "ec2.eu-west-3.amazonaws.com");
  EXPECT_EQ(resolve_endpoint(Service::kSsm, "ap-south-1", {})->host,
            "ssm.ap-south-1.amazonaws.com");
  EXPECT_EQ(resolve_endpoint(Service::kEcs, "cn-north-1", {})->host,
            "ecs.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(resolve_endpoint(Service::kEfs, "us-east-1", {})->scheme, "https");
  EXPECT_EQ(service_info(Service::kEfs).signing_name, "elasticfilesystem");
}

TEST(Endpoints, ServiceSpecificOverrideBeatsTheGlobalOne) {
  const Environment env = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:5000"},
                           {"AWS_ENDPOINT_URL_EFS", "http://localhost:6000/efs/"}};
  const auto efs = resolve_endpoint(Service::kEfs, "us-east-1", env);
  ASSERT_TRUE(efs.ok());
  EXPECT_EQ(efs->scheme, "http");
  EXPECT_EQ(efs->host, "localhost:6000");
  EXPECT_EQ(efs->base_path, "/efs");
  const auto ssm = resolve_endpoint(Service::kSsm, "us-east-1", env);
  EXPECT_EQ(ssm->host, "127.0.0.1:5000");
  EXPECT_EQ(ssm->base_path, "");
  for (const auto service : {Service::kEc2, Service::kEcs}) {
    EXPECT_EQ(resolve_endpoint(service, "us-east-1", env)->host, "127.0.0.1:5000");
  }
}

TEST(Endpoints, OverridesCanBeIgnoredAndMustBeValid) {
  for (const char* on : {"true", "TRUE", "True"}) {  // in any case, as the SDKs read it
    const Environment ignored = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:5000"},
                                 {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", on}};
    EXPECT_EQ(resolve_endpoint(Service::kEc2, "us-west-2", ignored)->host,
              "ec2.us-west-2.amazonaws.com")
        << on;
  }
  const Environment not_ignored = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:5000"},
                                   {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "truee"}};
  EXPECT_EQ(resolve_endpoint(Service::kEc2, "us-west-2", not_ignored)->host, "127.0.0.1:5000");
  for (const char* bad :
       {"127.0.0.1:5000", "ftp://x", "http://", "http://127.0.0.1:50xyz", "http://127.0.0.1:99999",
        "http://127.0.0.1:", "http://host\nX-Injected: 1", "http://a b:5000", "http://user@host",
        "http://[::1", "http://h:5000/pa th", "http://h:5000/p?x=1", "http://:5000"}) {
    const auto endpoint = resolve_endpoint(Service::kEc2, "us-west-2", {{"AWS_ENDPOINT_URL", bad}});
    ASSERT_FALSE(endpoint.ok()) << bad;
    EXPECT_EQ(endpoint.error().code, ErrorCode::kInvalidArgument);
  }
  for (const char* good :
       {"http://localhost:4566", "https://vpce-1.efs.us-east-1.vpce.amazonaws.com",
        "http://[::1]:5000/prefix/", "http://moto_server:5000"}) {
    EXPECT_TRUE(parse_endpoint_url(good).ok()) << good;
  }
  EXPECT_EQ(parse_endpoint_url("http://[::1]:5000/prefix/")->base_path, "/prefix");
}

TEST(Region, EnvironmentThenDefaultThenConfigFile) {
  TempDir dir;
  write_file(dir.path() / "config",
             "[default]\nregion = eu-central-1\n[profile ops]\nregion = ap-southeast-2\n");
  Environment env = {{"AWS_CONFIG_FILE", (dir.path() / "config").string()},
                     {"AWS_REGION", "us-west-1"},
                     {"AWS_DEFAULT_REGION", "us-east-2"}};
  EXPECT_EQ(resolve_region(env).value(), "us-west-1");
  env.erase("AWS_REGION");
  EXPECT_EQ(resolve_region(env).value(), "us-east-2");
  env.erase("AWS_DEFAULT_REGION");
  EXPECT_EQ(resolve_region(env).value(), "eu-central-1");
  env["AWS_PROFILE"] = "ops";
  EXPECT_EQ(resolve_region(env).value(), "ap-southeast-2");
  env["AWS_PROFILE"] = "none";
  ASSERT_FALSE(resolve_region(env).ok());
  EXPECT_EQ(resolve_region(env).error().code, ErrorCode::kNotFound);
}

TEST(Retry, RetriesThrottlingServerErrorsAndNeverClientErrors) {
  EXPECT_TRUE(is_retryable_response(400, "ThrottlingException"));
  EXPECT_TRUE(is_retryable_response(400, "Throttling"));
  EXPECT_TRUE(is_retryable_response(503, "RequestLimitExceeded"));
  EXPECT_TRUE(is_retryable_response(429, ""));
  EXPECT_TRUE(is_retryable_response(500, ""));
  EXPECT_TRUE(is_retryable_response(502, ""));
  EXPECT_TRUE(is_retryable_response(503, ""));
  EXPECT_TRUE(is_retryable_response(504, ""));
  EXPECT_TRUE(is_retryable_response(400, "RequestTimeout"));
  EXPECT_TRUE(is_retryable_response(400, "TooManyUpdates"));  // SSM: concurrent PutParameter
  for (const char* code : {"MountTargetConflict", "SubnetNotFound", "ParameterNotFound",
                           "ParameterAlreadyExists", "ValidationException", "AccessDenied",
                           "UnrecognizedClientException", "InvalidSignatureException"}) {
    EXPECT_FALSE(is_retryable_response(400, code)) << code;
  }
  EXPECT_FALSE(is_retryable_response(403, ""));
  EXPECT_FALSE(is_retryable_response(404, "FileSystemNotFound"));
  EXPECT_FALSE(is_retryable_response(501, ""));
}

TEST(Retry, FullJitterWithinAnExponentialCeiling) {
  const RetryPolicy policy;  // base 1 s, cap 20 s
  const RandomSource zero = [] { return 0.0; };
  const RandomSource almost_one = [] { return 0.999999; };
  const RandomSource half = [] { return 0.5; };
  for (int attempt = 1; attempt <= 8; ++attempt) {
    EXPECT_EQ(backoff_delay(policy, attempt, zero).count(), 0);
  }
  EXPECT_EQ(backoff_delay(policy, 1, half), std::chrono::milliseconds(500));
  EXPECT_EQ(backoff_delay(policy, 2, half), std::chrono::milliseconds(1000));
  EXPECT_EQ(backoff_delay(policy, 3, half), std::chrono::milliseconds(2000));
  EXPECT_EQ(backoff_delay(policy, 6, half), std::chrono::milliseconds(10000));  // 32 s capped
  EXPECT_LT(backoff_delay(policy, 1, almost_one), std::chrono::milliseconds(1000));
  EXPECT_LT(backoff_delay(policy, 40, almost_one), std::chrono::milliseconds(20000));
  EXPECT_GE(backoff_delay(policy, 40, almost_one), std::chrono::milliseconds(19999));
}

TEST(Retry, StopsAtMaxAttemptsAndOnNonRetryableErrors) {
  RetryPolicy policy;
  const Error throttled{ErrorCode::kRemote, "slow down", true, "ThrottlingException", "r"};
  const Error conflict{ErrorCode::kRemote, "exists", false, "MountTargetConflict", "r"};
  EXPECT_TRUE(should_retry(policy, 1, throttled));
  EXPECT_TRUE(should_retry(policy, 2, throttled));
  EXPECT_FALSE(should_retry(policy, 3, throttled));
  EXPECT_FALSE(should_retry(policy, 1, conflict));
  policy.max_attempts = 5;
  EXPECT_TRUE(should_retry(policy, 4, throttled));
  EXPECT_FALSE(should_retry(policy, 5, throttled));
}

TEST(RetryQuota, RetriesCostTokensAndSuccessesGiveThemBack) {
  RetryQuota quota(20);
  const Error server{ErrorCode::kRemote, "500", true, "", ""};
  const Error timeout{ErrorCode::kTimeout, "slow", true, "", ""};
  EXPECT_EQ(quota.acquire(server), 5);
  EXPECT_EQ(quota.acquire(timeout), 10);
  EXPECT_EQ(quota.available(), 5);
  EXPECT_EQ(quota.acquire(timeout), 0);  // cannot pay 10
  EXPECT_EQ(quota.acquire(server), 5);
  EXPECT_EQ(quota.acquire(server), 0);
  quota.release(10);  // a call that succeeded after a retry that cost 10
  EXPECT_EQ(quota.available(), 10);
  quota.release(0);  // a call that needed no retry
  EXPECT_EQ(quota.available(), 11);
  for (int i = 0; i < 20; ++i) quota.release(5);
  EXPECT_EQ(quota.available(), 20);  // never above capacity
}

}  // namespace
}  // namespace efsas::aws
