// The SDKs' "standard" retry mode: which failures a retry can help with, and how long to wait.
// Thread safety: RetryPolicy is a value; backoff_delay is pure given its random draw.
#pragma once

#include <chrono>
#include <functional>
#include <string_view>

#include "efsas/result.h"

namespace efsas::aws {

struct RetryPolicy {
  int max_attempts = 3;  // total attempts, the first one included
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_backoff{20000};
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

}  // namespace efsas::aws
