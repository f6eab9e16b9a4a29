// libnfs 4.0's failure shapes (taken from what it printed against nfs-ganesha) map to the
// error codes the service acts on, and to whether the context must be rebuilt.
#include "efsas/nfs/errors.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace efsas::nfs {
namespace {

TEST(NfsErrors, FindsTheStatusNameInAMessage) {
  EXPECT_EQ(
      nfs4_status_in(R"m(open call failed with "NFS4: (path /) failed with NFS4ERR_EXIST(-17)")m"),
      "NFS4ERR_EXIST");
  EXPECT_EQ(nfs4_status_in("NFS4ERR_STALE_CLIENTID"), "NFS4ERR_STALE_CLIENTID");
  EXPECT_EQ(nfs4_status_in("nfs_service failed"), "");
  EXPECT_EQ(nfs4_status_in(""), "");
}

// A path is the client's to choose, and libnfs names it before the status: a name that reads
// like a status never decides how a failure is treated (a REMOVE that timed out under a folder
// named NFS4ERR_DELAY was once taken as one the server refused, and tried again elsewhere).
TEST(NfsErrors, APathThatNamesAStatusNeverPassesForOne) {
  const Failure not_found = classify_failure(
      -ERANGE,
      R"m(stat call failed with "NFS4: (path /NFS4ERR_ACCESS/failed with NFS4ERR_DELAY/x) failed with NFS4ERR_NOENT(-2)")m",
      "stat", "/NFS4ERR_ACCESS/failed with NFS4ERR_DELAY/x");
  EXPECT_EQ(not_found.error.code, ErrorCode::kNotFound);
  EXPECT_EQ(not_found.error.remote_code, "NFS4ERR_NOENT");
  const Failure timed_out =
      classify_failure(-EINTR, R"m(rename call failed with "Command timed out")m", "rename",
                       "/failed with NFS4ERR_DELAY.txt");
  EXPECT_EQ(timed_out.error.code, ErrorCode::kTimeout);
  EXPECT_EQ(timed_out.error.remote_code, "");
  EXPECT_FALSE(final_step_error(timed_out.error).retryable);
}

TEST(NfsErrors, StatusesReportedAsErangeAreToldApartByTheirText) {
  // libnfs has no errno for these and returns -ERANGE; only the text tells.
  const Failure expired = classify_failure(
      -ERANGE, R"m(open call failed with "NFS4: (path /) failed with NFS4ERR_EXPIRED(-5)")m",
      "open", "/f");
  EXPECT_EQ(expired.error.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(expired.error.retryable);
  EXPECT_EQ(expired.fault, Fault::kBroken);

  const Failure seqid =
      classify_failure(-ERANGE, "failed with NFS4ERR_BAD_SEQID(-10026)", "open", "/f");
  EXPECT_EQ(seqid.fault, Fault::kBroken);
  const Failure stale =
      classify_failure(-ERANGE, "failed with NFS4ERR_STALE_CLIENTID", "open", "/f");
  EXPECT_EQ(stale.fault, Fault::kBroken);
  const Failure grace =
      classify_failure(-ERANGE, "failed with NFS4ERR_GRACE(-10013)", "open", "/f");
  EXPECT_EQ(grace.error.code, ErrorCode::kUnavailable);
  EXPECT_EQ(grace.fault, Fault::kNone);
}

TEST(NfsErrors, AnswersAboutTheRequestKeepTheContext) {
  struct Case {
    const char* status;
    ErrorCode code;
  };
  for (const Case& c :
       {Case{"NFS4ERR_NOENT", ErrorCode::kNotFound},
        Case{"NFS4ERR_EXIST", ErrorCode::kAlreadyExists},
        Case{"NFS4ERR_ISDIR", ErrorCode::kConflict}, Case{"NFS4ERR_NOTDIR", ErrorCode::kConflict},
        Case{"NFS4ERR_NOTEMPTY", ErrorCode::kConflict},
        Case{"NFS4ERR_ACCESS", ErrorCode::kPermissionDenied},
        // A read-only mount may be one mount target's alone: another may take the write.
        Case{"NFS4ERR_ROFS", ErrorCode::kUnavailable},
        Case{"NFS4ERR_NOSPC", ErrorCode::kResourceExhausted},
        Case{"NFS4ERR_DQUOT", ErrorCode::kResourceExhausted},
        Case{"NFS4ERR_NAMETOOLONG", ErrorCode::kInvalidArgument}}) {
    const std::string message =
        std::string("stat call failed with \"NFS4: (path /x) failed with ") + c.status + "(-1)\"";
    const Failure failure = classify_failure(-ERANGE, message, "stat", "/x");
    EXPECT_EQ(failure.error.code, c.code) << c.status;
    EXPECT_EQ(failure.fault, Fault::kNone) << c.status;
    EXPECT_NE(failure.error.message.find("/x"), std::string::npos);
  }
}

TEST(NfsErrors, ADeadConnectionBreaksTheContext) {
  const Failure dead = classify_failure(-EIO, "nfs_service failed", "stat", "/f");
  EXPECT_EQ(dead.error.code, ErrorCode::kUnavailable);
  EXPECT_TRUE(dead.error.retryable);
  EXPECT_EQ(dead.fault, Fault::kBroken);
}

TEST(NfsErrors, ATimeoutIsReportedAsSuch) {
  const Failure timeout =
      classify_failure(-EINTR, R"m(stat call failed with "Command timed out")m", "stat", "/f");
  EXPECT_EQ(timeout.error.code, ErrorCode::kTimeout);
  EXPECT_TRUE(timeout.error.retryable);
  EXPECT_EQ(timeout.fault, Fault::kTimedOut);
}

TEST(NfsErrors, AnEncodingFailureIsNotMistakenForPermission) {
  // libnfs returns -1 (which is -EPERM) when it cannot encode a too-large WRITE.
  const Failure encode = classify_failure(
      -1, "nfs_pwrite_async failed. ZDR error: Failed to encode COMPOUND4args", "write", "/f");
  EXPECT_EQ(encode.error.code, ErrorCode::kIo);
  EXPECT_EQ(encode.fault, Fault::kBroken);
}

// A RENAME, LINK or REMOVE that failed may still have happened, unless the server answered that
// it did not act: a put or delete whose last step got NFS4ERR_DELAY or NFS4ERR_GRACE may be tried
// again through another mount target (503 when none can), where a timeout or a lost connection
// leaves the outcome unknown (504, not tried again).
TEST(NfsErrors, AFinalStepIsUnknownUnlessTheServerSaidItDidNotAct) {
  const auto final_step = [](int rc, const std::string& message) {
    return final_step_error(classify_failure(rc, message, "rename", "/a").error);
  };
  for (const char* status : {"NFS4ERR_DELAY(-11)", "NFS4ERR_GRACE(-10013)"}) {
    const Error refused =
        final_step(-ERANGE, std::string("NFS4: RENAME (path /a) failed with ") + status);
    EXPECT_EQ(refused.code, ErrorCode::kUnavailable) << status;
    EXPECT_TRUE(refused.retryable) << status;
  }
  const Error timed_out = final_step(-EINTR, "Command timed out");
  EXPECT_EQ(timed_out.code, ErrorCode::kTimeout);
  EXPECT_FALSE(timed_out.retryable);
  const Error lost = final_step(-EIO, "nfs_service failed");
  EXPECT_EQ(lost.code, ErrorCode::kUnavailable);
  EXPECT_FALSE(lost.retryable);
  for (const char* status : {"NFS4ERR_IO(-5)", "NFS4ERR_SERVERFAULT(-5)", "NFS4ERR_EXPIRED(-5)"}) {
    EXPECT_FALSE(
        final_step(-ERANGE, std::string("NFS4: RENAME (path /a) failed with ") + status).retryable)
        << status;
  }
  const Error exists = final_step(-ERANGE, "NFS4: LINK (path /a) failed with NFS4ERR_EXIST(-17)");
  EXPECT_EQ(exists.code, ErrorCode::kAlreadyExists);
  EXPECT_FALSE(exists.retryable);
}

// RFC 7530 9.1.7: a refused OPEN or CLOSE moves the open-owner's sequence id on, except for the
// few refusals that could not be tied to the owner.
TEST(NfsErrors, MostRefusalsMoveTheOpenSequenceOn) {
  for (const char* status : {"NFS4ERR_NOENT", "NFS4ERR_EXIST", "NFS4ERR_ACCESS", "NFS4ERR_NOTDIR",
                             "NFS4ERR_ISDIR", "NFS4ERR_SYMLINK", "NFS4ERR_DELAY"}) {
    EXPECT_TRUE(refusal_moves_open_sequence(status)) << status;
  }
  for (const char* status : {"NFS4ERR_STALE_CLIENTID", "NFS4ERR_STALE_STATEID",
                             "NFS4ERR_BAD_STATEID", "NFS4ERR_BAD_SEQID", "NFS4ERR_BADXDR",
                             "NFS4ERR_RESOURCE", "NFS4ERR_NOFILEHANDLE", "NFS4ERR_MOVED", ""}) {
    EXPECT_FALSE(refusal_moves_open_sequence(status)) << status;
  }
}

TEST(NfsErrors, PlainErrnosMapWhenThereIsNoStatus) {
  EXPECT_EQ(classify_failure(-ENOENT, "", "stat", "/f").error.code, ErrorCode::kNotFound);
  EXPECT_EQ(classify_failure(-EACCES, "", "stat", "/f").error.code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(classify_failure(-ENOSPC, "", "write", "/f").error.code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(classify_failure(-ECONNREFUSED, "", "mount", "").fault, Fault::kBroken);
}

}  // namespace
}  // namespace efsas::nfs
