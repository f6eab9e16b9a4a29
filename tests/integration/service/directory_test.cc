// The file-service end-to-end cases over the plain-directory back end, with file I/O on the
// network threads (local disks, the default) and on the worker pool (INLINE_LOCAL_IO=false).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "efsas/testing/latencyfs.h"
#include "efsas/testing/process.h"
#include "file_service_cases.h"
#include "harness.h"

namespace efsas::service::testing {

INSTANTIATE_TEST_SUITE_P(
    Backends, FileServiceIntegration,
    ::testing::Values(BackendCase{"directory", make_directory_storage},
                      BackendCase{"directory_worker_pool", make_directory_storage_on_worker_pool}),
    [](const ::testing::TestParamInfo<BackendCase>& param_info) { return param_info.param.name; });

}  // namespace efsas::service::testing

namespace efsas::service::testing {
namespace {

// A FIFO (or socket, or device) is not a file: it is answered 409 at once, never opened for
// reading, which for a FIFO would wait for a writer that may never come, holding the network
// thread (and every connection on it) or a worker.
TEST_P(FileServiceIntegration, AFifoIsAnsweredAtOnceAndNeverBlocks) {
  ASSERT_EQ(::mkfifo((storage_->data_dir() / "pipe").c_str(), 0644), 0);
  start({{"IO_THREADS", "1"}, {"WORKER_THREADS", "1"}, {"REQUEST_TIMEOUT_MS", "3000"}});
  constexpr std::chrono::seconds kPatience{5};
  for (int i = 0; i < 3; ++i) {
    const auto got = http("GET", url("/files/pipe"), "", {}, kPatience);
    EXPECT_EQ(got.status, 409) << got.body;
    EXPECT_NE(got.body.find("is not a file"), std::string::npos) << got.body;
    EXPECT_EQ(http("HEAD", url("/files/pipe"), "", {}, kPatience).status, 409);
  }
  EXPECT_EQ(http("GET", url("/healthz"), "", {}, kPatience).status, 200);
  ASSERT_EQ(put("/files/after", "x").status, 201);
  EXPECT_EQ(http("GET", url("/files/after"), "", {}, kPatience).body, "x");
}

// A PUT whose condition fails changes nothing, not even the directories its path names: the API
// could never remove them.
TEST_P(FileServiceIntegration, AFailedConditionalPutCreatesNoDirectories) {
  start();
  EXPECT_EQ(put("/files/new1/new2/new3/x.txt", "x", {{"If-Match", "\"nope\""}}).status, 412);
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "new1"));
  EXPECT_EQ(get("/files/").body.find("new1"), std::string::npos);
  EXPECT_EQ(put("/files/new1/new2/x.txt", "x", {{"If-None-Match", "*"}}).status, 201);
  EXPECT_EQ(get("/files/new1/new2/x.txt").body, "x");
}

// A name that is a symbolic link is refused (400) by every method, PUT included, and nothing
// changes; one that is not a file is a conflict (409). Each message quotes the path once.
TEST_P(FileServiceIntegration, LinksAndOtherNonFilesAreAnsweredAlikeByEveryMethod) {
  const fs::path data = storage_->data_dir();
  write_file(data / "target.txt", "original");
  fs::create_symlink("target.txt", data / "link.txt");
  fs::create_directories(data / "dir");
  ASSERT_EQ(::mkfifo((data / "pipe").c_str(), 0644), 0);
  start();
  const auto message = [](const HttpResult& result) -> std::string {
    const auto doc = nlohmann::json::parse(result.body, nullptr, false);
    if (!doc.is_object() || !doc.contains("error")) return "";
    return doc["error"].value("message", "");
  };
  for (const auto& result : {put("/files/link.txt", "replaced"), get("/files/link.txt"),
                             http("DELETE", url("/files/link.txt"))}) {
    EXPECT_EQ(result.status, 400) << result.body;
    EXPECT_EQ(message(result), "'link.txt' goes through a symbolic link") << result.body;
  }
  EXPECT_TRUE(fs::is_symlink(data / "link.txt"));
  EXPECT_EQ(read_file(data / "target.txt"), "original");

  for (const auto& result :
       {put("/files/pipe", "x"), get("/files/pipe"), http("DELETE", url("/files/pipe"))}) {
    EXPECT_EQ(result.status, 409) << result.body;
    EXPECT_EQ(message(result), "'pipe' is not a file") << result.body;
  }
  EXPECT_TRUE(fs::is_fifo(data / "pipe"));
  EXPECT_EQ(message(get("/files/dir")), "'dir' is not a file");
  EXPECT_EQ(message(http("DELETE", url("/files/dir"))), "'dir' is a directory");
}

// If-Match is a list of entity tags on PUT and DELETE as on GET, compared strongly: a client
// that names the current version among others may write, one that names a weak tag may not.
TEST_P(FileServiceIntegration, IfMatchIsAListOnEveryMethod) {
  start();
  const std::string etag = put("/files/m.txt", "one").header("etag");
  ASSERT_FALSE(etag.empty());
  const std::string list = "\"zzz\", " + etag;
  EXPECT_EQ(get("/files/m.txt", {{"If-Match", list}}).status, 200);
  EXPECT_EQ(put("/files/m.txt", "x", {{"If-Match", "W/" + etag}}).status, 412);
  const auto second = put("/files/m.txt", "two", {{"If-Match", list}});
  EXPECT_EQ(second.status, 204) << second.body;
  const std::string etag2 = second.header("etag");
  EXPECT_EQ(http("DELETE", url("/files/m.txt"), "", {{"If-Match", "W/" + etag2}}).status, 412);
  EXPECT_EQ(http("DELETE", url("/files/m.txt"), "", {{"If-Match", "\"zzz\", " + etag2}}).status,
            204);
  EXPECT_EQ(get("/files/m.txt").status, 404);
}

// The longest path the service takes, 4096 bytes, can be read back as it was written (reads once
// passed it whole to the kernel, over PATH_MAX with its NUL, and answered 400); one byte more is
// refused by every method.
TEST_P(FileServiceIntegration, TheLongestPathIsReadAsItWasWritten) {
  start();
  std::string longest;
  for (int i = 0; i < 15; ++i) longest += std::string(255, 'a') + "/";
  longest += std::string(200, 'b') + "/" + std::string(55, 'c');
  ASSERT_EQ(longest.size(), 4096u);
  const std::string route = "/files/" + longest;
  ASSERT_EQ(put(route, "far down").status, 201);
  const auto got = get(route);
  EXPECT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "far down");
  EXPECT_EQ(http("HEAD", url(route)).status, 200);
  const auto listing = get(route.substr(0, route.rfind('/') + 1));
  EXPECT_NE(listing.body.find("\"" + std::string(55, 'c') + "\""), std::string::npos)
      << listing.body;
  EXPECT_EQ(http("DELETE", url(route)).status, 204);
  EXPECT_EQ(get(route).status, 404);

  const std::string over = route + "d";
  EXPECT_EQ(put(over, "x").status, 400);
  EXPECT_EQ(get(over).status, 400);
  EXPECT_EQ(http("DELETE", url(over)).status, 400);
}

// ACCESS_LOG: one JSON line per request on standard error, saying what was asked, what was
// answered and where it was served; with ACCESS_LOG=false, none.
TEST_P(FileServiceIntegration, TheAccessLogHasALinePerRequestWithWhatWasDone) {
  const auto request_lines = [&](const std::string& target) {
    std::vector<nlohmann::json> lines;
    std::istringstream log(service_->log());
    for (std::string line; std::getline(log, line);) {
      const auto doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (doc.is_object() && doc.value("message", "") == "request" &&
          doc.value("target", "") == target) {
        lines.push_back(doc);
      }
    }
    return lines;
  };
  start();
  const auto written = put("/files/logged/a%20b", "12345");
  ASSERT_EQ(written.status, 201);
  ASSERT_EQ(get("/files/logged/a%20b").body, "12345");
  EXPECT_EQ(get("/files/logged/none").status, 404);
  // A line is written once the answer is out: the client may see the answer first.
  ASSERT_TRUE(eventually([&] { return request_lines("/files/logged/none").size() == 1; }))
      << service_->log();
  const auto lines = request_lines("/files/logged/a%20b");
  ASSERT_EQ(lines.size(), 2u) << service_->log();
  EXPECT_EQ(lines[0]["method"], "PUT");
  EXPECT_EQ(lines[0]["status"], 201);
  EXPECT_EQ(lines[0]["bytes_in"], 5);
  EXPECT_EQ(lines[0]["mount_target"], written.header("x-mount-target"));
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_TRUE(lines[0]["remote"].get<std::string>().starts_with("127.0.0.1")) << lines[0];
  EXPECT_GE(lines[0]["duration_ms"].get<double>(), 0.0);
  EXPECT_EQ(lines[1]["method"], "GET");
  EXPECT_EQ(lines[1]["status"], 200);
  EXPECT_EQ(lines[1]["bytes_out"], 5);
  EXPECT_EQ(request_lines("/files/logged/none")[0]["status"], 404);

  start({{"ACCESS_LOG", "false"}});
  ASSERT_EQ(get("/files/logged/a%20b").status, 200);
  ASSERT_EQ(put("/files/logged/c", "c").status, 201);
  // Once the process has exited, every line it would have written is in the log.
  service_->process().signal(SIGTERM);
  service_->process().wait(std::chrono::seconds(10));
  EXPECT_FALSE(service_->process().running());
  EXPECT_TRUE(request_lines("/files/logged/c").empty()) << service_->log();
  EXPECT_TRUE(request_lines("/files/logged/a%20b").empty()) << service_->log();
}

// A configuration that cannot work is refused at start, with the reason, before anything runs.
TEST(FileServiceConfiguration, UploadMemoryLimitBelowTheBodyLimitIsRefused) {
  const auto result = efsas::testing::run_command({file_service_binary().string()},
                                                  {{"MOUNT_TARGETS_JSON", "{}"},
                                                   {"MOUNT_PATH_TEMPLATE", "/nonexistent/{id}"},
                                                   {"BODY_LIMIT_BYTES", "2000"},
                                                   {"UPLOAD_MEMORY_LIMIT_BYTES", "1000"}});
  EXPECT_EQ(result.status, 2) << result.output;
  EXPECT_NE(
      result.output.find("UPLOAD_MEMORY_LIMIT_BYTES (1000) must be at least BODY_LIMIT_BYTES"),
      std::string::npos)
      << result.output;
}

TEST(FileServiceConfiguration, ASpoolDirectoryThatTakesNoFilesIsRefused) {
  const auto result = efsas::testing::run_command({file_service_binary().string()},
                                                  {{"MOUNT_TARGETS_JSON", "{}"},
                                                   {"MOUNT_PATH_TEMPLATE", "/nonexistent/{id}"},
                                                   {"UPLOAD_SPOOL_DIR", "/nonexistent/spool"}});
  EXPECT_EQ(result.status, 2) << result.output;
  EXPECT_NE(result.output.find("UPLOAD_SPOOL_DIR is not usable"), std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find("/nonexistent/spool"), std::string::npos) << result.output;
}

// A setting out of its range is refused at start, naming it, whether it came from the environment
// or a flag (a port of 80800 once became 15264, a worker count of 0 one worker).
TEST(FileServiceConfiguration, SettingsOutOfRangeAreRefused) {
  const std::map<std::string, std::string> base = {{"MOUNT_TARGETS_JSON", "{}"},
                                                   {"MOUNT_PATH_TEMPLATE", "/nonexistent/{id}"}};
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"PORT", "80800"},
                                                        {"WORKER_THREADS", "0"},
                                                        {"HEADER_TIMEOUT_MS", "-1"},
                                                        {"HEALTH_FAILURES_TO_DOWN", "0"},
                                                        {"TEMP_MAX_AGE_SECONDS", "0"}}) {
    auto env = base;
    env[name] = value;
    const auto result = efsas::testing::run_command({file_service_binary().string()}, env);
    EXPECT_EQ(result.status, 2) << name << "=" << value << ": " << result.output;
    EXPECT_NE(result.output.find(name + " must be between"), std::string::npos) << result.output;
  }
  for (const auto& [flag, value, name] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--request-timeout-ms", "0", "REQUEST_TIMEOUT_MS"},
           {"--port", "70000", "PORT"},
           {"--worker-threads", "0", "WORKER_THREADS"},
           {"--nfs-timeout-ms", "0", "NFS_TIMEOUT_MS"},
           {"--nfs-sessions-per-target", "300", "NFS_SESSIONS_PER_TARGET"}}) {
    const auto result =
        efsas::testing::run_command({file_service_binary().string(), flag, value}, base);
    EXPECT_EQ(result.status, 2) << flag << " " << value << ": " << result.output;
    EXPECT_NE(result.output.find(name + " must be between"), std::string::npos) << result.output;
  }
}

// A flag whose value is not a number stops file-service with the same status as a bad variable,
// naming the flag.
TEST(FileServiceConfiguration, AFlagThatIsNotANumberIsRefused) {
  const std::map<std::string, std::string> base = {{"MOUNT_TARGETS_JSON", "{}"},
                                                   {"MOUNT_PATH_TEMPLATE", "/nonexistent/{id}"}};
  for (const std::string flag : {"--port", "--nfs-uid", "--nfs-timeout-ms"}) {
    const auto result =
        efsas::testing::run_command({file_service_binary().string(), flag, "eighty"}, base);
    EXPECT_EQ(result.status, 2) << flag << ": " << result.output;
    EXPECT_NE(result.output.find(flag), std::string::npos) << result.output;
  }
}

// A back end that is neither directory nor nfs is refused at start, naming the setting, from the
// environment as from the flag (a typo such as "Directory" once ran the NFS back end).
TEST(FileServiceConfiguration, UnknownStorageBackendIsRefused) {
  const std::map<std::string, std::string> base = {{"MOUNT_TARGETS_JSON", "{}"},
                                                   {"MOUNT_PATH_TEMPLATE", "/nonexistent/{id}"}};
  // A service that starts runs until the command's timeout: keep it short.
  constexpr std::chrono::seconds kTimeout{10};
  for (const std::string value : {"Directory", "dir", "nfs "}) {
    auto env = base;
    env["STORAGE_BACKEND"] = value;
    const auto result =
        efsas::testing::run_command({file_service_binary().string()}, env, kTimeout);
    EXPECT_EQ(result.status, 2) << "'" << value << "': " << result.output;
    EXPECT_NE(result.output.find("STORAGE_BACKEND must be directory or nfs, got '" + value + "'"),
              std::string::npos)
        << result.output;
  }
  const auto result = efsas::testing::run_command(
      {file_service_binary().string(), "--storage-backend", "dir"}, base, kTimeout);
  EXPECT_EQ(result.status, 2) << result.output;
  EXPECT_NE(result.output.find("STORAGE_BACKEND must be directory or nfs, got 'dir'"),
            std::string::npos)
      << result.output;
}

// file-service over the directory back end on a free loopback port, with `targets` mount targets
// whose directories are all `directory`, and `extra` settings on top; its log goes to `log`.
efsas::testing::ProcessOptions directory_service(const fs::path& directory, int targets,
                                                 const fs::path& log,
                                                 const std::map<std::string, std::string>& extra) {
  efsas::testing::ProcessOptions options;
  options.argv = {file_service_binary().string()};
  options.env = {{"STORAGE_BACKEND", "directory"},
                 {"MOUNT_PATH_TEMPLATE", directory.string()},
                 {"MOUNT_TARGETS_JSON", make_directory_storage()->list_document(1, targets)},
                 {"LISTEN_ADDRESS", "127.0.0.1"},
                 {"PORT", "0"}};
  for (const auto& [name, value] : extra) options.env[name] = value;
  options.unset_env = {"SSM_PARAMETER_NAME"};
  options.log_file = log;
  return options;
}

// On SIGTERM the process exits 0 once the grace period is over, even with a worker (and the
// temporary-file sweep) blocked in a back-end call: here the mount-target directory is a FUSE file
// system whose opens take 20 s, as a hung host mount of EFS would take for ever.
TEST(FileServiceShutdown, SigtermExitsAfterTheGracePeriodWithAWorkerBlocked) {
  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  efsas::testing::TempDir dir;
  fs::create_directories(dir.path() / "backing");
  fs::create_directories(dir.path() / "mnt");
  efsas::testing::write_file(dir.path() / "backing" / "slow.txt", "slow");
  efsas::testing::LatencyFsMount mount(dir.path() / "backing", dir.path() / "mnt",
                                       {"--latency-us=0", "--open-latency-us=20000000"});
  ASSERT_TRUE(mount.mounted()) << mount.log();

  efsas::testing::Process service(directory_service(
      dir.path() / "mnt", 1, dir.path() / "file-service.log",
      {{"WORKER_THREADS", "1"},
       {"REQUEST_TIMEOUT_MS", "500"},
       {"HEALTH_FAILURES_TO_DOWN", "1000"},  // the read-only mount fails every probe
       {"HEALTH_INTERVAL_MS", "100"},
       {"SHUTDOWN_GRACE_SECONDS", "1"}}));
  const int port = listening_port(service, std::chrono::seconds(10));
  ASSERT_NE(port, 0) << service.log();

  const std::string timed_out = efsas::testing::raw_exchange(
      port, "GET /files/slow.txt HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(5));
  EXPECT_TRUE(timed_out.starts_with("HTTP/1.1 504")) << timed_out << service.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the first sweep starts too
  const auto started = std::chrono::steady_clock::now();
  service.signal(SIGTERM);
  EXPECT_EQ(service.wait(std::chrono::seconds(6)), 0) << service.log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  EXPECT_NE(service.log().find("leaving workers blocked"), std::string::npos) << service.log();
}

// A mount that serves reads but refuses the probe's write (here latencyfs, which is read-only, as a
// mount without write permission is) fails every probe, so every mount target is soon marked down.
// The service then fails open: reads are still served, each from the target its path goes to,
// while the log says why once, and a metric counts those requests. /readyz stays 503: no probe
// has ever reached the storage, as in a deployment that cannot write to the file system.
TEST(FileServiceFailOpen, WithEveryTargetDownReadsAreStillServed) {
  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  efsas::testing::TempDir dir;
  fs::create_directories(dir.path() / "backing" / "docs");
  fs::create_directories(dir.path() / "mnt");
  efsas::testing::write_file(dir.path() / "backing" / "docs" / "a.txt", "still here");
  efsas::testing::LatencyFsMount mount(dir.path() / "backing", dir.path() / "mnt");
  ASSERT_TRUE(mount.mounted()) << mount.log();

  efsas::testing::Process service(
      directory_service(dir.path() / "mnt", 3, dir.path() / "file-service.log",
                        {{"HEALTH_FAILURES_TO_DOWN", "1"}, {"HEALTH_INTERVAL_MS", "100"}}));
  const int port = listening_port(service, std::chrono::seconds(10));
  ASSERT_NE(port, 0) << service.log();
  const auto url = [&](const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  };

  EXPECT_TRUE(eventually([&] {
    const auto targets = nlohmann::json::parse(http("GET", url("/targets")).body, nullptr, false);
    if (!targets.is_object()) return false;
    for (const auto& target : targets["mount_targets"]) {
      if (target["healthy"] != false) return false;
    }
    return true;
  })) << service.log();
  const auto ready = http("GET", url("/readyz"));
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("no mount target has answered a probe yet"), std::string::npos)
      << ready.body;
  const auto targets = nlohmann::json::parse(http("GET", url("/targets")).body);
  for (const auto& target : targets["mount_targets"]) EXPECT_FALSE(target["healthy"]) << target;
  const auto read = http("GET", url("/files/docs/a.txt"));
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body, "still here");
  EXPECT_EQ(http("GET", url("/files/docs/")).status, 200);
  EXPECT_EQ(http("GET", url("/files/docs/missing")).status, 404);
  const auto refused = http("PUT", url("/files/docs/b.txt"), "no");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_FALSE(fs::exists(dir.path() / "backing" / "docs" / "b.txt"));
  EXPECT_NE(http("GET", url("/metrics")).body.find("\nfile_service_fail_open_requests_total 4\n"),
            std::string::npos);
  EXPECT_NE(service.log().find("no mount target is healthy: requests try every one"),
            std::string::npos)
      << service.log();
}

// BODY_TIMEOUT_MS is the client's time to send its body. A spooled body's last batch waits for a
// worker to write it; that wait is the server's: it does not cut the client off, and it is bounded
// by REQUEST_TIMEOUT_MS instead, past which the connection closes and the upload is not written.
// Here the only worker is held for 2 s by a read whose open takes that long (latencyfs), the body
// timeout is 1 s, and two uploads arrive at once: the first takes the upload memory, the second
// goes to the spool.
TEST(FileServiceUploads, ASpooledBodyWaitingForAWorkerIsBoundedByTheRequestTimeoutNotTheBodys) {
  if (!efsas::testing::LatencyFsMount::supported()) {
    GTEST_SKIP() << "FUSE or latencyfs not available";
  }
  efsas::testing::TempDir dir;
  const fs::path data = dir.path() / "data";
  fs::create_directories(dir.path() / "backing");
  fs::create_directories(data / "slow");
  efsas::testing::write_file(dir.path() / "backing" / "slow.txt", "slow");
  efsas::testing::LatencyFsMount mount(dir.path() / "backing", data / "slow",
                                       {"--latency-us=0", "--open-latency-us=2000000"});
  ASSERT_TRUE(mount.mounted()) << mount.log();

  struct Round {
    std::string slow_answer;
    std::vector<std::string> bodies;
    std::vector<std::string> answers;
    std::string metrics;
  };
  // Holds the worker with the slow read, then sends the two uploads (to up/<name>-0 and -1).
  const auto run = [&](const std::string& name, const std::string& request_timeout_ms) {
    efsas::testing::Process service(directory_service(data, 1, dir.path() / (name + ".log"),
                                                      {{"WORKER_THREADS", "1"},
                                                       {"INLINE_LOCAL_IO", "false"},
                                                       {"BODY_TIMEOUT_MS", "1000"},
                                                       {"REQUEST_TIMEOUT_MS", request_timeout_ms},
                                                       {"UPLOAD_MEMORY_LIMIT_BYTES", "50000"},
                                                       {"BODY_LIMIT_BYTES", "50000"},
                                                       {"UPLOAD_SPOOL_DIR", dir.path().string()}}));
    Round round;
    const int port = listening_port(service, std::chrono::seconds(10));
    EXPECT_NE(port, 0) << service.log();
    if (port == 0) return round;
    std::thread slow([&] {
      round.slow_answer = efsas::testing::raw_exchange(
          port, "GET /files/slow/slow.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          std::chrono::seconds(10));
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the worker is in the open now
    round.answers.resize(2);
    std::vector<std::thread> uploads;
    for (std::size_t u = 0; u < 2; ++u) {
      std::string body(40000, '\0');
      for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + (i + u) % 23);
      round.bodies.push_back(body);
      uploads.emplace_back([&round, &name, port, u, body = std::move(body)] {
        round.answers[u] = efsas::testing::raw_exchange(
            port,
            "PUT /files/up/" + name + "-" + std::to_string(u) +
                " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body,
            std::chrono::seconds(10));
      });
    }
    for (std::thread& t : uploads) t.join();
    slow.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the worker has caught up
    round.metrics = efsas::testing::raw_exchange(
        port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return round;
  };
  const auto stored = [&](const std::string& name, std::size_t u) {
    return data / "up" / (name + "-" + std::to_string(u));
  };

  // The worker is back within REQUEST_TIMEOUT_MS: both uploads are stored and answered 201.
  const Round waited = run("waited", "10000");
  EXPECT_TRUE(waited.slow_answer.starts_with("HTTP/1.1 200")) << waited.slow_answer;
  for (std::size_t u = 0; u < waited.answers.size(); ++u) {
    EXPECT_TRUE(waited.answers[u].starts_with("HTTP/1.1 201")) << u << ": " << waited.answers[u];
    EXPECT_TRUE(efsas::testing::read_file(stored("waited", u)) == waited.bodies[u])
        << "upload " << u << " is not what was sent";
  }
  EXPECT_NE(waited.metrics.find("\nfile_service_spooled_uploads_total 1\n"), std::string::npos)
      << waited.metrics;

  // It is not (REQUEST_TIMEOUT_MS 500): the upload in memory is answered 504, the spooled one's
  // connection is closed without an answer, and that upload is never written, not even once the
  // worker is back.
  const Round gave_up = run("gave-up", "500");
  std::size_t unanswered = 0;
  for (std::size_t u = 0; u < gave_up.answers.size(); ++u) {
    if (gave_up.answers[u].empty()) {
      ++unanswered;
      EXPECT_FALSE(fs::exists(stored("gave-up", u))) << "upload " << u << " written unanswered";
    } else {
      EXPECT_TRUE(gave_up.answers[u].starts_with("HTTP/1.1 504"))
          << u << ": " << gave_up.answers[u];
    }
  }
  EXPECT_EQ(unanswered, 1U);
  EXPECT_NE(gave_up.metrics.find("\nfile_service_spooled_uploads_total 0\n"), std::string::npos)
      << gave_up.metrics;
}

// With its open-file limit reached, the server stops accepting for a moment instead of retrying in
// a loop that burns a core and writes a warning per retry, and accepts again once connections
// close. The limit is set low (64, soft and hard) for the process.
TEST(FileServiceConfiguration, RunningOutOfDescriptorsPausesAcceptingAndRecovers) {
  efsas::testing::TempDir dir;
  const auto storage = make_directory_storage();
  efsas::testing::ProcessOptions options;
  options.argv = {"sh", "-c", "ulimit -n 64 && exec \"$0\"", file_service_binary().string()};
  options.env = storage->env();
  options.env["MOUNT_TARGETS_JSON"] = storage->list_document(1, 1);
  options.env["LISTEN_ADDRESS"] = "127.0.0.1";
  options.env["PORT"] = "0";
  options.env["IO_THREADS"] = "1";
  options.env["ACCESS_LOG"] = "false";
  options.unset_env = {"SSM_PARAMETER_NAME"};
  options.log_file = dir.path() / "file-service.log";
  efsas::testing::Process service(options);
  const int port = listening_port(service, std::chrono::seconds(10));
  ASSERT_NE(port, 0) << service.log();
  EXPECT_NE(service.log().find("the open-file limit leaves room for fewer connections"),
            std::string::npos)
      << service.log();

  std::vector<int> held;
  for (int i = 0; i < 100; ++i) {
    const int fd = efsas::testing::connect_loopback(port);  // queued in the backlog past 64
    if (fd >= 0) held.push_back(fd);
  }
  ASSERT_TRUE(eventually([&] {
    return service.log().find("accept failed: pausing") != std::string::npos;
  })) << service.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::string log = service.log();
  std::size_t warnings = 0;
  for (auto at = log.find("accept failed"); at != std::string::npos;
       at = log.find("accept failed", at + 1)) {
    ++warnings;
  }
  // One line per episode, not one per failed accept (thousands in this half second). A new
  // episode starts only when an accept got through in between: the service's own health probe
  // may free a descriptor for a moment, so two or three are possible.
  EXPECT_GE(warnings, 1u);
  EXPECT_LE(warnings, 3u) << log.substr(0, 2000);

  for (const int fd : held) ::close(fd);
  const std::string health = efsas::testing::raw_exchange(
      port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 ", 0), 0u) << health;
  EXPECT_TRUE(eventually([&] {
    return service.log().find("accepting connections again") != std::string::npos;
  })) << service.log();
}

}  // namespace
}  // namespace efsas::service::testing
