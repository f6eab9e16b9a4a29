// How libnfs failures become efsas errors, and which failures leave a libnfs context unusable.
// libnfs 4.0 reports NFSv4 status codes either as a negative errno or, for codes without an
// errno, as -ERANGE with only its message naming the status ("... NFS4ERR_EXPIRED(-5)"); a dead
// connection fails calls with -EIO (the session's "connection lost") or -EFAULT (libnfs's "RPC
// ERROR ..."), and a call past nfs_set_timeout with -EINTR ("... Command timed out"). Pure
// functions.
#pragma once

#include <string_view>

#include "efsas/result.h"

namespace efsas::nfs {

// What the session must do after a failed call.
enum class Fault {
  kNone,      // an answer about the request (not found, exists...): the context is fine
  kTimedOut,  // the server did not answer in time; the context lives, but state-changing
              // calls in flight may have reached the server
  kBroken,    // the context cannot serve again: destroy it and mount anew
};

struct Failure {
  Error error;
  Fault fault = Fault::kNone;
};

// The NFSv4 status a libnfs message reports ("NFS4ERR_NOENT": the last one it names after
// "failed with", since the path it names first may contain anything), or empty when none.
std::string_view nfs4_status_in(std::string_view message);

// Maps a libnfs return code (negative) and its nfs_get_error() text for the call `operation`
// on `path` to an Error and a Fault. Unknown codes map to kIo, retryable. An NFSv4 status the
// server answered is kept in the error's remote_code: decisions read it there, never from the
// message, which names the client's path.
Failure classify_failure(int rc, std::string_view message, std::string_view operation,
                         std::string_view path);

// Whether a server that follows RFC 7530 (9.1.7) moves an open-owner's sequence id on when it
// refuses an OPEN, OPEN_CONFIRM or CLOSE with `status` ("NFS4ERR_NOENT"): for every status but
// the few that say the request could not be tied to its owner (stale or bad ids, bad encoding,
// no file handle, no resources, a moved file system).
bool refusal_moves_open_sequence(std::string_view status);

// `error` (from classify_failure) as the failure of a call that changes a name: the RENAME or
// LINK that publishes a put, the REMOVE of a delete. Such a call may have happened although it
// failed: a timeout, a lost connection or a server I/O error leaves the outcome unknown, so the
// error is made not retryable (trying again elsewhere could undo another writer's change). The
// server's answers NFS4ERR_DELAY and NFS4ERR_GRACE say that it did not act (RFC 7530: try again
// later), and in libnfs 4.0 the changing operation is the last of its compound, so no later
// operation can have failed after it: those stay retryable.
Error final_step_error(Error error);

}  // namespace efsas::nfs
