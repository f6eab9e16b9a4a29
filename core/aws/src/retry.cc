// Standard retry mode classification and backoff.
#include "efsas/aws/retry.h"

#include <algorithm>
#include <array>

namespace efsas::aws {

bool is_throttling_code(std::string_view aws_code) {
  static constexpr std::array<std::string_view, 15> kCodes = {
      "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
      "TooManyRequestsException", "ProvisionedThroughputExceededException",
      "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
      "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
      "EC2ThrottledException",
      // SSM: too many PutParameter calls on one parameter at once.
      "TooManyUpdates"};
  return std::find(kCodes.begin(), kCodes.end(), aws_code) != kCodes.end();
}

bool is_transient_code(std::string_view aws_code) {
  return aws_code == "RequestTimeout" || aws_code == "RequestTimeoutException" ||
         aws_code == "InternalError" || aws_code == "InternalFailure" ||
         aws_code == "ServiceUnavailable";
}

bool is_retryable_response(int http_status, std::string_view aws_code) {
  if (is_throttling_code(aws_code) || is_transient_code(aws_code)) return true;
  return http_status == 429 || http_status == 500 || http_status == 502 || http_status == 503 ||
         http_status == 504;
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt,
                                        const RandomSource& random) {
  const int exponent = std::clamp(attempt - 1, 0, 30);
  const double ceiling = std::min(
      static_cast<double>(policy.max_backoff.count()),
      static_cast<double>(policy.base_delay.count()) * static_cast<double>(1LL << exponent));
  const double draw = std::clamp(random(), 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(draw * ceiling));
}

bool should_retry(const RetryPolicy& policy, int attempt, const Error& error) {
  return error.retryable && attempt < policy.max_attempts;
}

int RetryQuota::acquire(const Error& error) {
  const bool connection =
      error.code == ErrorCode::kTimeout || error.code == ErrorCode::kUnavailable;
  const int cost = connection ? 10 : 5;
  std::lock_guard lock(mutex_);
  if (available_ < cost) return 0;
  available_ -= cost;
  return cost;
}

void RetryQuota::release(int spent) {
  std::lock_guard lock(mutex_);
  available_ = std::min(capacity_, available_ + (spent > 0 ? spent : 1));
}

int RetryQuota::available() const {
  std::lock_guard lock(mutex_);
  return available_;
}

}  // namespace efsas::aws
