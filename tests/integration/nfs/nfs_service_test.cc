// file-service over the NFS back end, end to end: the real binary speaking NFSv4 to three
// nfs-ganesha servers. What only NFS can show: concurrent PUTs and GETs spread over all three
// mount targets, a server killed mid-load (no GET fails, the target is marked down and comes
// back after a restart), and a hung server (requests fail over after NFS_TIMEOUT_MS, never hang).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "nfs_storage.h"

namespace efsas::service::testing {
namespace {

using efsas::testing::read_file;
using efsas::testing::TempDir;
using efsas::testing::write_file;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

class NfsFileService : public ::testing::Test {
 protected:
  void SetUp() override {
    list_file_ = config_dir_.path() / "mount-targets.json";
    write_file(list_file_, storage_.list_document(1));
  }
  void start(std::map<std::string, std::string> extra_env = {}) {
    service_ = std::make_unique<ServiceProcess>(storage_, list_file_, std::move(extra_env));
  }
  std::string url(const std::string& path) const { return service_->url(path); }
  HttpResult get(const std::string& path) { return http("GET", url(path)); }
  HttpResult put(const std::string& path, const std::string& body) {
    return http("PUT", url(path), body);
  }
  // The target's health as /targets reports it; nullopt when the service did not answer (a
  // busy machine), so that neither "up" nor "down" is concluded from a failed request.
  std::optional<bool> target_healthy(const std::string& id) {
    const auto targets = nlohmann::json::parse(get("/targets").body, nullptr, false);
    if (targets.is_discarded() || !targets.contains("mount_targets")) return std::nullopt;
    for (const auto& t : targets["mount_targets"]) {
      if (t["id"] == id) return t["healthy"].get<bool>();
    }
    return std::nullopt;
  }

  NfsStorage storage_;
  TempDir config_dir_;
  std::filesystem::path list_file_;
  std::unique_ptr<ServiceProcess> service_;
};

TEST_F(NfsFileService, ConcurrentPutsAndGetsSpreadOverAllThreeTargets) {
  start();
  std::atomic<int> failures{0};
  std::mutex mutex;
  std::map<std::string, int> served_by;
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 30; ++i) {
        const std::string path = "/files/cc/" + std::to_string(c) + "/" + std::to_string(i % 10);
        // Sizes on both sides of libnfs's 3944-byte write limit.
        const std::string body(static_cast<std::size_t>(100 + (i * 1777) % 20000),
                               static_cast<char>('a' + (c + i) % 26));
        const auto written = put(path, body);
        const auto got = get(path);
        std::lock_guard lock(mutex);
        if (written.status != 201 && written.status != 204) {
          ++failures;
          first_failure +=
              "PUT " + path + " " + std::to_string(written.status) + " " + written.body + "\n";
        }
        if (got.status != 200 || got.body != body) {
          ++failures;
          first_failure += "GET " + path + " " + std::to_string(got.status) + " " +
                           got.body.substr(0, 200) + "\n";
        }
        ++served_by[written.header("x-mount-target")];
        ++served_by[got.header("x-mount-target")];
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(served_by[storage_.target_id(i)], 0) << "target " << i << " served nothing";
  }
  // What the service wrote is in the exported directory, byte for byte.
  const auto direct = read_file(storage_.data_dir() / "cc/3/7");
  EXPECT_EQ(get("/files/cc/3/7").body, direct);
}

TEST_F(NfsFileService, KillingOneServerMidLoadFailsNoGetAndItComesBack) {
  start({{"HEALTH_FAILURES_TO_DOWN", "2"}, {"HEALTH_SUCCESSES_TO_UP", "2"}});
  constexpr int kFiles = 60;
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_EQ(put("/files/load/" + std::to_string(i), "content " + std::to_string(i)).status, 201);
  }
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> failed{0};
  std::vector<std::string> failures;
  std::mutex mutex;
  std::vector<std::thread> readers;
  // Joined however the test body ends: a joinable thread destroyed would abort the binary and
  // leave its servers running.
  struct JoinAll {
    std::atomic<bool>& done;
    std::vector<std::thread>& threads;
    ~JoinAll() {
      done = true;
      for (auto& thread : threads) {
        if (thread.joinable()) thread.join();
      }
    }
  } join_all{done, readers};
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      for (int i = r; !done; i = (i + 7) % kFiles) {
        const auto got = get("/files/load/" + std::to_string(i));
        ++reads;
        if (got.status != 200 || got.body != "content " + std::to_string(i)) {
          ++failed;
          std::lock_guard lock(mutex);
          failures.push_back(std::to_string(got.status) + " " + got.body);
        }
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(300));
  const std::string down = storage_.target_id(1);
  storage_.make_unavailable(1);
  EXPECT_TRUE(eventually([&] { return target_healthy(down) == false; })) << get("/targets").body;
  const int reads_while_down = reads.load();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_GT(reads.load(), reads_while_down) << "reads stalled while a target was down";
  storage_.restore(1);
  EXPECT_TRUE(eventually([&] { return target_healthy(down) == true; })) << get("/targets").body;
  std::this_thread::sleep_for(milliseconds(300));
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(failed.load(), 0) << (failures.empty() ? "" : failures.front());
  EXPECT_GT(reads.load(), 100);
  // Back up, it serves its share again.
  bool served = false;
  for (int i = 0; i < kFiles && !served; ++i) {
    served = get("/files/load/" + std::to_string(i)).header("x-mount-target") == down;
  }
  EXPECT_TRUE(served);
}

TEST_F(NfsFileService, AHungServerMakesRequestsFailOverAfterTheTimeoutNeverHang) {
  start({{"NFS_TIMEOUT_MS", "1000"}, {"HEALTH_FAILURES_TO_DOWN", "2"}});
  const std::string hung = storage_.target_id(2);
  // Files whose first choice is the target about to hang.
  std::vector<std::string> paths;
  for (int i = 0; paths.size() < 6 && i < 200; ++i) {
    const std::string path = "/files/hang/" + std::to_string(i);
    const auto written = put(path, "v" + std::to_string(i));
    ASSERT_EQ(written.status, 201);
    if (written.header("x-mount-target") == hung) paths.push_back(path);
  }
  ASSERT_EQ(paths.size(), 6u);
  storage_.pause(2);
  for (const auto& path : paths) {
    const auto start_time = steady_clock::now();
    const auto got = get(path);
    const auto took = steady_clock::now() - start_time;
    EXPECT_EQ(got.status, 200) << path << " " << got.body;
    EXPECT_NE(got.header("x-mount-target"), hung);
    EXPECT_LT(took, milliseconds(4000)) << path;
  }
  EXPECT_TRUE(eventually([&] { return target_healthy(hung) == false; })) << get("/targets").body;
  // Once it is marked down, requests go elsewhere at once.
  const auto start_time = steady_clock::now();
  EXPECT_EQ(get(paths.front()).status, 200);
  EXPECT_LT(steady_clock::now() - start_time, milliseconds(500));
  storage_.resume(2);
  EXPECT_TRUE(eventually([&] { return target_healthy(hung) == true; }, std::chrono::seconds(15)))
      << get("/targets").body;
  EXPECT_EQ(get(paths.front()).header("x-mount-target"), hung);
}

// A DELETE whose read before the REMOVE got no answer removed nothing: it fails over, where the
// REMOVE itself going unanswered would be 504 (outcome unknown).
TEST_F(NfsFileService, ADeleteOnAHungServerFailsOverWhenNothingWasRemoved) {
  start({{"NFS_TIMEOUT_MS", "1000"}, {"HEALTH_FAILURES_TO_DOWN", "100"}});
  const std::string hung = storage_.target_id(2);
  std::string path;  // at the top of the export: the REMOVE's own read is the first call
  for (int i = 0; path.empty() && i < 200; ++i) {
    const std::string candidate = "/files/delete-" + std::to_string(i);
    const auto written = put(candidate, "v");
    ASSERT_EQ(written.status, 201);
    if (written.header("x-mount-target") == hung) path = candidate;
  }
  ASSERT_FALSE(path.empty());
  storage_.pause(2);
  const auto removed = http("DELETE", url(path));
  EXPECT_EQ(removed.status, 204) << removed.body;
  EXPECT_NE(removed.header("x-mount-target"), hung);
  EXPECT_EQ(get(path).status, 404);
  storage_.resume(2);
}

// A body counts against UPLOAD_MEMORY_LIMIT_BYTES until the worker handling it lets go of it,
// also when the client was answered 504 first: uploads to hung targets cannot pile up in memory
// (nor, with a spool, on disk: the spool is off here so that the memory limit alone decides).
TEST_F(NfsFileService, AnUploadAnswered504CountsAgainstTheMemoryLimitUntilItsWorkerIsDone) {
  start({{"NFS_TIMEOUT_MS", "3000"},
         {"REQUEST_TIMEOUT_MS", "300"},
         {"UPLOAD_MEMORY_LIMIT_BYTES", "1000"},
         {"UPLOAD_SPOOL_LIMIT_BYTES", "0"},
         {"BODY_LIMIT_BYTES", "1000"},
         {"HEALTH_FAILURES_TO_DOWN", "100"}});
  ASSERT_EQ(put("/files/hung/warm", "w").status, 201);
  for (int i = 0; i < 3; ++i) storage_.pause(i);
  const auto timed_out = put("/files/hung/a", std::string(800, 'a'));
  EXPECT_EQ(timed_out.status, 504) << timed_out.body;
  const auto refused = put("/files/hung/b", std::string(800, 'b'));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("over the upload memory and spool limits"), std::string::npos)
      << refused.body;
  for (int i = 0; i < 3; ++i) storage_.resume(i);
  EXPECT_TRUE(eventually([&] { return put("/files/hung/c", std::string(800, 'c')).status == 201; },
                         std::chrono::seconds(20)));
  EXPECT_EQ(get("/files/hung/c").body, std::string(800, 'c'));
  EXPECT_EQ(get("/files/hung/b").status, 404);
}

// NFS_EXPORT_PATH serves a directory below the export's root, and nothing outside it;
// NFS_UID and NFS_GID are the identity the files are written with (as an EFS access point would
// impose its own).
TEST_F(NfsFileService, ServesTheExportPathItIsGivenWithTheIdentityItIsGiven) {
  constexpr uid_t kUid = 4321;
  constexpr gid_t kGid = 4322;
  const auto tenant = storage_.data_dir() / "tenant";
  std::filesystem::create_directories(tenant);
  ASSERT_EQ(::chown(tenant.c_str(), kUid, kGid), 0);
  write_file(storage_.data_dir() / "outside.txt", "not served");
  start({{"NFS_EXPORT_PATH", "/tenant"},
         {"NFS_UID", std::to_string(kUid)},
         {"NFS_GID", std::to_string(kGid)}});

  ASSERT_EQ(put("/files/inside/a.txt", "served").status, 201);
  const auto written = tenant / "inside" / "a.txt";
  EXPECT_EQ(read_file(written), "served");
  struct stat st {};
  ASSERT_EQ(::stat(written.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kUid);
  EXPECT_EQ(st.st_gid, kGid);
  EXPECT_FALSE(std::filesystem::exists(storage_.data_dir() / "inside"));
  EXPECT_EQ(get("/files/inside/a.txt").body, "served");
  EXPECT_EQ(get("/files/outside.txt").status, 404);

  // What that identity may not do is 403: every mount target would refuse it alike, so it is
  // neither tried on the others nor answered 503 (which asks the client to come back).
  write_file(tenant / "private.txt", "root's");
  ::chmod((tenant / "private.txt").c_str(), 0600);
  std::filesystem::create_directories(tenant / "locked");
  const auto refused_read = get("/files/private.txt");
  EXPECT_EQ(refused_read.status, 403) << refused_read.body;
  EXPECT_NE(refused_read.body.find("PermissionDenied"), std::string::npos) << refused_read.body;
  const auto refused_write = put("/files/locked/b.txt", "not allowed");
  EXPECT_EQ(refused_write.status, 403) << refused_write.body;
  EXPECT_FALSE(std::filesystem::exists(tenant / "locked" / "b.txt"));
  EXPECT_EQ(get("/files/inside/a.txt").body, "served");  // and the service goes on
}

}  // namespace
}  // namespace efsas::service::testing
