// Names of error codes, for logs and JSON error bodies.
#include "efsas/result.h"

namespace efsas {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kAlreadyExists:
      return "AlreadyExists";
    case ErrorCode::kConflict:
      return "Conflict";
    case ErrorCode::kPreconditionFailed:
      return "PreconditionFailed";
    case ErrorCode::kPermissionDenied:
      return "PermissionDenied";
    case ErrorCode::kResourceExhausted:
      return "ResourceExhausted";
    case ErrorCode::kUnavailable:
      return "Unavailable";
    case ErrorCode::kTimeout:
      return "Timeout";
    case ErrorCode::kIo:
      return "Io";
    case ErrorCode::kDataLoss:
      return "DataLoss";
    case ErrorCode::kRemote:
      return "Remote";
    case ErrorCode::kInternal:
      return "Internal";
  }
  fail_invariant("unknown ErrorCode");
}

std::string Error::to_string() const {
  std::string out(efsas::to_string(code));
  if (!remote_code.empty()) out += "(" + remote_code + ")";
  out += ": ";
  out += message;
  return out;
}

}  // namespace efsas
