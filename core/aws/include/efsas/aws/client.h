// AwsClient: signs, sends and retries one AWS API call, and turns AWS error responses into
// efsas::Error{kRemote, remote_code = AWS error code, request_id, retryable}. The typed service
// calls (efs.h, ec2.h, ssm.h, ecs.h) build on it. Thread safety: an AwsClient may be used from
// many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "efsas/aws/credentials.h"
#include "efsas/aws/endpoints.h"
#include "efsas/aws/environment.h"
#include "efsas/aws/http.h"
#include "efsas/aws/retry.h"
#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/result.h"

namespace efsas::aws {

enum class Protocol { kRestJson, kJson11, kQuery };

// One call, before signing: the method, path (after the endpoint's base path), query and body.
struct ApiRequest {
  Service service = Service::kEfs;
  Protocol protocol = Protocol::kRestJson;
  std::string operation{};  // "DescribeMountTargets"; also the X-Amz-Target suffix for JSON 1.1
  std::string method = "POST";
  std::string path = "/";
  std::string query{};
  std::string body{};
};

struct AwsClientConfig {
  std::string region{};
  std::map<Service, Endpoint> endpoints;  // services missing here use the standard endpoint
  std::shared_ptr<CredentialsProvider> credentials;
  std::shared_ptr<HttpTransport> transport;
  std::shared_ptr<const Clock> clock;
  RetryPolicy retry;
  RandomSource random;  // defaults to a seeded std::mt19937_64 behind a mutex
  HttpTimeouts timeouts;
  Logger logger;
};

class AwsClient {
 public:
  explicit AwsClient(AwsClientConfig config);

  // Sends with retries; a 2xx response is returned, anything else becomes an Error.
  Result<HttpResponse> call(const ApiRequest& request) const;

  // A client whose calls end by `deadline` (on this client's clock): each attempt's timeouts are
  // cut to the time left, and no attempt or retry starts with less than kShortestAttempt left
  // (the last error is returned, or kTimeout if none was made). Shares this client's retry quota.
  AwsClient with_deadline(SteadyTime deadline) const;
  static constexpr std::chrono::milliseconds kShortestAttempt{250};
  // A client that logs to `logger` (one carrying an invocation's request id, say).
  AwsClient with_logger(Logger logger) const;

  const std::string& region() const { return config_.region; }
  const Clock& clock() const { return *config_.clock; }
  // Tokens left in the retry quota shared by this client's calls.
  int retry_tokens() const { return quota_->available(); }
  // How far AWS's clock is ahead of this client's (negative: behind), as learnt from a request
  // refused for its signing time; every signature since adds it. Shared by copies of the client.
  std::chrono::milliseconds clock_offset() const {
    return std::chrono::milliseconds(clock_offset_->load());
  }

 private:
  Result<HttpResponse> attempt(const ApiRequest& request, const Endpoint& endpoint,
                               const HttpTimeouts& timeouts) const;
  // For a response refused for its signing time (RequestTimeTooSkewed, a signature expired...):
  // learns the offset from the response's Date and makes the error retryable, the way the AWS
  // SDKs correct clock skew. Only when the Date is more than kSkewTolerance away from the time
  // the request was signed with: a signature that is wrong for another reason is not retried.
  void correct_clock_skew(const HttpResponse& response, SystemTime signed_at, Error& error) const;
  static constexpr std::chrono::minutes kSkewTolerance{4};

  AwsClientConfig config_;
  std::optional<SteadyTime> deadline_;
  RandomSource random_;
  std::shared_ptr<RetryQuota> quota_;
  std::shared_ptr<std::atomic<std::int64_t>> clock_offset_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
};

// The app-edge factory: region, endpoint overrides and the default credentials chain from `env`.
Result<std::shared_ptr<AwsClient>> make_aws_client(const Environment& env,
                                                   std::shared_ptr<HttpTransport> transport,
                                                   std::shared_ptr<const Clock> clock,
                                                   Logger logger = Logger());

// Parses an AWS error response of the given protocol into an Error (kRemote).
Error parse_error_response(Protocol protocol, const HttpResponse& response);

}  // namespace efsas::aws
