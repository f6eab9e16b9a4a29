// libnfs failure classification; see errors.h for the shapes libnfs 4.0 reports.
#include "efsas/nfs/errors.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>

namespace efsas::nfs {

namespace {

struct StatusRule {
  std::string_view status;
  ErrorCode code;
  bool retryable;
  Fault fault;
};

// Longest names first where one is a prefix of another (NFS4ERR_STALE_CLIENTID / NFS4ERR_STALE).
constexpr std::array kStatusRules{
    StatusRule{"NFS4ERR_NOENT", ErrorCode::kNotFound, false, Fault::kNone},
    StatusRule{"NFS4ERR_EXIST", ErrorCode::kAlreadyExists, false, Fault::kNone},
    StatusRule{"NFS4ERR_NOTDIR", ErrorCode::kConflict, false, Fault::kNone},
    StatusRule{"NFS4ERR_ISDIR", ErrorCode::kConflict, false, Fault::kNone},
    StatusRule{"NFS4ERR_NOTEMPTY", ErrorCode::kConflict, false, Fault::kNone},
    StatusRule{"NFS4ERR_ACCESS", ErrorCode::kPermissionDenied, false, Fault::kNone},
    StatusRule{"NFS4ERR_PERM", ErrorCode::kPermissionDenied, false, Fault::kNone},
    StatusRule{"NFS4ERR_ROFS", ErrorCode::kUnavailable, false, Fault::kNone},
    StatusRule{"NFS4ERR_WRONGSEC", ErrorCode::kPermissionDenied, false, Fault::kNone},
    StatusRule{"NFS4ERR_NOSPC", ErrorCode::kResourceExhausted, false, Fault::kNone},
    StatusRule{"NFS4ERR_DQUOT", ErrorCode::kResourceExhausted, false, Fault::kNone},
    StatusRule{"NFS4ERR_FBIG", ErrorCode::kResourceExhausted, false, Fault::kNone},
    StatusRule{"NFS4ERR_NAMETOOLONG", ErrorCode::kInvalidArgument, false, Fault::kNone},
    StatusRule{"NFS4ERR_BADNAME", ErrorCode::kInvalidArgument, false, Fault::kNone},
    StatusRule{"NFS4ERR_BADCHAR", ErrorCode::kInvalidArgument, false, Fault::kNone},
    StatusRule{"NFS4ERR_INVAL", ErrorCode::kInvalidArgument, false, Fault::kNone},
    StatusRule{"NFS4ERR_SYMLINK", ErrorCode::kInvalidArgument, false, Fault::kNone},
    StatusRule{"NFS4ERR_GRACE", ErrorCode::kUnavailable, true, Fault::kNone},
    StatusRule{"NFS4ERR_DELAY", ErrorCode::kUnavailable, true, Fault::kNone},
    StatusRule{"NFS4ERR_IO", ErrorCode::kIo, true, Fault::kNone},
    StatusRule{"NFS4ERR_SERVERFAULT", ErrorCode::kIo, true, Fault::kNone},
    // The client's state is gone on the server (lease expired, server restarted) or its open
    // sequence is out of step: this context cannot open files again.
    StatusRule{"NFS4ERR_STALE_CLIENTID", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_STALE_STATEID", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_STALE", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_EXPIRED", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_BAD_SEQID", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_BAD_STATEID", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_OLD_STATEID", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_ADMIN_REVOKED", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_LEASE_MOVED", ErrorCode::kUnavailable, true, Fault::kBroken},
    StatusRule{"NFS4ERR_CLID_INUSE", ErrorCode::kUnavailable, true, Fault::kBroken},
};

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

Failure make(ErrorCode code, bool retryable, Fault fault, std::string_view operation,
             std::string_view path, std::string_view message) {
  std::string text = "nfs ";
  text += operation;
  if (!path.empty()) {
    text += " ";
    text += path;
  }
  text += ": ";
  text += message.empty() ? std::string_view("failed") : message;
  return Failure{make_error(code, std::move(text), retryable), fault};
}

}  // namespace

std::string_view nfs4_status_in(std::string_view message) {
  // libnfs names the path before the status ("NFS4: RENAME (path /a) failed with
  // NFS4ERR_DELAY(-11)"), and a path may contain anything: the status is the last one named.
  constexpr std::string_view kMarker = "failed with NFS4ERR_";
  std::size_t start = 0;
  if (const auto marker = message.rfind(kMarker); marker != std::string_view::npos) {
    start = marker + kMarker.size() - 8;
  } else if (!message.starts_with("NFS4ERR_")) {
    return {};
  }
  auto end = start + 8;
  while (end < message.size() &&
         ((message[end] >= 'A' && message[end] <= 'Z') || message[end] == '_' ||
          (message[end] >= '0' && message[end] <= '9'))) {
    ++end;
  }
  return message.substr(start, end - start);
}

bool refusal_moves_open_sequence(std::string_view status) {
  constexpr std::array<std::string_view, 8> kKeepsSequence = {
      "NFS4ERR_STALE_CLIENTID", "NFS4ERR_STALE_STATEID", "NFS4ERR_BAD_STATEID",
      "NFS4ERR_BAD_SEQID",      "NFS4ERR_BADXDR",        "NFS4ERR_RESOURCE",
      "NFS4ERR_NOFILEHANDLE",   "NFS4ERR_MOVED"};
  return status.starts_with("NFS4ERR_") &&
         std::find(kKeepsSequence.begin(), kKeepsSequence.end(), status) == kKeepsSequence.end();
}

Failure classify_failure(int rc, std::string_view message, std::string_view operation,
                         std::string_view path) {
  const std::string_view status = nfs4_status_in(message);
  if (!status.empty()) {
    Failure failure = make(ErrorCode::kIo, true, Fault::kNone, operation, path, message);
    for (const auto& rule : kStatusRules) {
      if (status == rule.status) {
        failure = make(rule.code, rule.retryable, rule.fault, operation, path, message);
        break;
      }
    }
    failure.error.remote_code = std::string(status);
    return failure;
  }
  if (contains(message, "timed out") || rc == -EINTR || rc == -ETIMEDOUT) {
    return make(ErrorCode::kTimeout, true, Fault::kTimedOut, operation, path,
                message.empty() ? "timed out" : message);
  }
  // An encoding failure means libnfs built no request; its state for this file is suspect.
  if (contains(message, "ZDR") || contains(message, "encode")) {
    return make(ErrorCode::kIo, true, Fault::kBroken, operation, path, message);
  }
  switch (-rc) {
    case ENOENT:
      return make(ErrorCode::kNotFound, false, Fault::kNone, operation, path, message);
    case EEXIST:
      return make(ErrorCode::kAlreadyExists, false, Fault::kNone, operation, path, message);
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
      return make(ErrorCode::kConflict, false, Fault::kNone, operation, path, message);
    case EACCES:
    case EPERM:
      return make(ErrorCode::kPermissionDenied, false, Fault::kNone, operation, path, message);
    case EROFS:
      return make(ErrorCode::kUnavailable, false, Fault::kNone, operation, path, message);
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return make(ErrorCode::kResourceExhausted, false, Fault::kNone, operation, path, message);
    case ENAMETOOLONG:
    case EINVAL:
    case ELOOP:  // O_NOFOLLOW met a symbolic link
      return make(ErrorCode::kInvalidArgument, false, Fault::kNone, operation, path, message);
    case ENOMEM:
      return make(ErrorCode::kResourceExhausted, true, Fault::kNone, operation, path, message);
    default:
      // -EIO "connection lost", refused or reset connections: the socket is gone and libnfs
      // 4.0 does not reconnect an NFSv4 context.
      return make(ErrorCode::kUnavailable, true, Fault::kBroken, operation, path, message);
  }
}

Error final_step_error(Error error) {
  if (error.remote_code == "NFS4ERR_DELAY" || error.remote_code == "NFS4ERR_GRACE") return error;
  if (error.code == ErrorCode::kTimeout || error.code == ErrorCode::kUnavailable ||
      error.code == ErrorCode::kIo) {
    error.retryable = false;
  }
  return error;
}

}  // namespace efsas::nfs
