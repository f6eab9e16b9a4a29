// The SDKs' "standard" retry mode: which failures a retry can help with, and how long to wait.
// Thread safety: RetryPolicy is a value; backoff_delay is pure given its random draw.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string_view>

#include "efsas/result.h"

namespace efsas::aws {

struct RetryPolicy {
  int max_attempts = 3;  // total attempts, the first one included
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_backoff{20000};
  int retry_quota = 500;  // tokens of the client's RetryQuota
};

// A uniform draw in [0, 1); injected so tests and benchmarks are deterministic.
using RandomSource = std::function<double()>;

// Throttling error codes (ThrottlingException, Throttling, RequestLimitExceeded, ...).
bool is_throttling_code(std::string_view aws_code);
// Transient error codes that are not throttling (RequestTimeout, InternalError, ...).
bool is_transient_code(std::string_view aws_code);
// Whether an HTTP response with this status and AWS error code should be retried: throttling,
// transient codes, 500/502/503/504 and 429. Never other 4xx client errors.
bool is_retryable_response(int http_status, std::string_view aws_code);

// Full jitter: random() * min(max_backoff, base_delay * 2^(attempt-1)), where `attempt` is the
// number of the attempt that just failed (1 for the first).
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt,
                                        const RandomSource& random);

// Whether to make another attempt after `attempt` failed with `error`.
bool should_retry(const RetryPolicy& policy, int attempt, const Error& error);

// The standard mode's retry quota, shared by every call of one client, so that a failing service
// is not hammered by retries: a retry spends 5 tokens (10 after a timeout or a connection
// failure); a call that succeeds gives back what its last retry spent, or 1 token when it needed
// none. With too few tokens left, a failure is returned without retrying. Thread-safe.
class RetryQuota {
 public:
  explicit RetryQuota(int capacity = 500) : capacity_(capacity), available_(capacity) {}

  // Tokens for a retry after `error`: their number, or 0 when the quota cannot pay.
  int acquire(const Error& error);
  // After a successful call; `spent` is what acquire returned for its last retry (0 if none).
  void release(int spent);
  int available() const;

 private:
  mutable std::mutex mutex_;
  int capacity_;
  int available_;
};

}  // namespace efsas::aws
