// Result<T>: the value or the error of a library call. Library code returns these instead of
// throwing; the apps turn them into exit codes, HTTP responses or Lambda errors at the edge.
// Thread safety: a Result is a plain value; distinct objects may be used from distinct threads.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace efsas {

enum class ErrorCode {
  kInvalidArgument,     // the caller's input is wrong; retrying the same input cannot help
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // creation refused because the thing exists
  kConflict,            // a concurrent change got there first
  kPreconditionFailed,  // a conditional operation's condition does not hold
  kPermissionDenied,    // the caller is not allowed
  kResourceExhausted,   // out of space, quota or a limit
  kUnavailable,         // the peer or back end cannot serve now
  kTimeout,             // the deadline passed
  kIo,                  // an I/O error from the operating system or the network
  kDataLoss,            // stored data is corrupt or unreadable
  kRemote,              // an error reported by a remote service (see Error::remote_code)
  kInternal,            // a bug: an invariant did not hold
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // Whether the same call may succeed if made again later.
  bool retryable = false;
  // The remote service's own error code (an AWS error such as "MountTargetConflict", for
  // kRemote; an NFSv4 status such as "NFS4ERR_NOENT") and request id.
  std::string remote_code;
  std::string request_id;

  // "NotFound: no such file" or "Remote(ThrottlingException): Rate exceeded".
  std::string to_string() const;
};

inline Error make_error(ErrorCode code, std::string message, bool retryable = false) {
  return Error{code, std::move(message), retryable, {}, {}};
}

// Aborts the process with a message: for states that cannot happen unless the program is wrong.
[[noreturn]] inline void fail_invariant(std::string_view what) {
  std::fprintf(stderr, "invariant violated: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    if (!ok()) fail_invariant("Result::value() on an error: " + error().to_string());
    return std::get<0>(state_);
  }
  T& value() & {
    if (!ok()) fail_invariant("Result::value() on an error: " + error().to_string());
    return std::get<0>(state_);
  }
  T&& value() && {
    if (!ok()) fail_invariant("Result::value() on an error: " + error().to_string());
    return std::get<0>(std::move(state_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const {
    if (ok()) fail_invariant("Result::error() on a value");
    return std::get<1>(state_);
  }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (ok()) fail_invariant("Result::error() on a success");
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace efsas
