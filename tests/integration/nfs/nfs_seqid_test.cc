// The NFSv4 open sequence, as a strict server holds a client to it. libnfs 4.0 moves its
// open-owner's sequence id on only when an OPEN succeeds; a server that follows RFC 7530 moves it
// on for most refused OPENs too, and then answers the client's next OPEN from its replay cache
// (the refusal again, whatever the file) or with NFS4ERR_BAD_SEQID. nfs-ganesha is lenient about
// it, so every call here goes through a proxy that checks each sequenced operation as such a
// server would.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "efsas/nfs/session.h"
#include "efsas/path.h"
#include "efsas/testing/ganesha.h"
#include "efsas/testing/process.h"
#include "seqid_proxy.h"
#include "session_reads.h"

namespace efsas::nfs {
namespace {

using efsas::testing::GaneshaCluster;
using efsas::testing::GaneshaOptions;
using efsas::testing::SeqidCheckingProxy;
using std::chrono::milliseconds;

constexpr const char* kProxyAddress = "127.0.0.7";

class NfsSeqidTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    GaneshaOptions options;
    options.instances = 1;
    cluster_ = new GaneshaCluster(options);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  void SetUp() override {
    proxy_ = std::make_unique<SeqidCheckingProxy>(kProxyAddress, cluster_->address(0));
    if (!proxy_->error().empty()) GTEST_SKIP() << proxy_->error();
  }

  std::unique_ptr<Session> connect(const std::string& name) {
    SessionOptions options;
    options.server = kProxyAddress;
    options.client_name = "efsas-seqid-test-" + std::to_string(::getpid()) + "-" + name;
    options.timeout = milliseconds(3000);
    auto session = Session::connect(options);
    EXPECT_TRUE(session.ok()) << (session.ok() ? "" : session.error().to_string());
    return session.ok() ? std::move(session).value() : nullptr;
  }

  void expect_no_violation() {
    for (const auto& v : proxy_->violations()) ADD_FAILURE() << v;
  }

  static GaneshaCluster* cluster_;
  std::unique_ptr<SeqidCheckingProxy> proxy_;
};

GaneshaCluster* NfsSeqidTest::cluster_ = nullptr;

// What a file service does all day, refusals included: reads of names that do not exist or are
// directories, writes into new directories, create-only writes over existing names, health
// probes (one over a probe file left behind), and idle keep-alives. A strict server would have
// taken every OPEN and CLOSE as meant, and the session goes on reading.
TEST_F(NfsSeqidTest, EverydayCallsAndRefusalsKeepTheOpenSequence) {
  auto session = connect("everyday");
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->put("seq/a", "one", PutMode::kReplace).ok());
  EXPECT_EQ(*read_all(*session, "seq/a"), "one");

  auto missing = session->open_read("seq/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto missing_dir = session->open_read("seq/nowhere/missing");
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.error().code, ErrorCode::kNotFound);
  auto directory = session->open_read("seq");
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, ErrorCode::kConflict);

  for (int i = 0; i < 3; ++i) {
    Status alive = session->keep_alive();
    ASSERT_TRUE(alive.ok()) << alive.error().to_string();
  }
  ASSERT_TRUE(std::filesystem::is_regular_file(cluster_->export_dir() / kLeaseProbeName));

  ASSERT_TRUE(session->put("seq/new/dir/b", "two", PutMode::kReplace).ok());
  auto again = session->put("seq/a", "three", PutMode::kCreateOnly);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  testing::write_file(cluster_->export_dir() / ".efsas-probe-left", "from a probe cut short");
  EXPECT_TRUE(session->write_read_probe(".efsas-probe-left", "probe 1").ok());
  EXPECT_TRUE(session->write_read_probe(".efsas-probe-left", "probe 2").ok());

  EXPECT_EQ(*read_all(*session, "seq/a"), "one");
  EXPECT_EQ(*read_all(*session, "seq/new/dir/b"), "two");
  EXPECT_FALSE(session->broken());
  EXPECT_GT(proxy_->checked(), 20u);  // every OPEN and CLOSE above went through the check
  expect_no_violation();
}

// An OPEN the server refuses after taking its sequence id (here creating a file under a name
// that is a file, NFS4ERR_NOTDIR) leaves libnfs a step behind: the session is given up, and its
// next OPEN never reaches a strict server. A fresh session works at once.
TEST_F(NfsSeqidTest, ARefusedOpenGivesTheSessionUp) {
  auto session = connect("refused");
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->put("refused/file", "x", PutMode::kReplace).ok());
  auto under_file = session->put("refused/file/child", "x", PutMode::kReplace);
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(session->broken());

  auto fresh = connect("refused-after");
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(*read_all(*fresh, "refused/file"), "x");
  expect_no_violation();
}

}  // namespace
}  // namespace efsas::nfs
