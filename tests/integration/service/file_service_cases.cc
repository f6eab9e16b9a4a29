// file-service end to end: the real binary on a free loopback port over three mount targets of
// one file system. Every route and status, atomic overwrites under concurrent readers, a server
// killed mid-upload, unsafe paths, failover, many clients at once, limits, reload and graceful
// shutdown. Instantiated per back end (directory_test.cc; see file_service_cases.h).
#include "file_service_cases.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace efsas::service::testing {
namespace {

TEST_P(FileServiceIntegration, EveryRouteAndStatus) {
  start({{"BODY_LIMIT_BYTES", "1048576"}});
  auto created = put("/files/docs/report%201.txt", "first version");
  ASSERT_EQ(created.status, 201) << created.body << service_->log();
  const std::string etag = created.header("etag");
  EXPECT_FALSE(etag.empty());
  EXPECT_TRUE(created.header("x-mount-target").starts_with("fsmt-"));
  EXPECT_EQ(read_file(storage_->data_dir() / "docs" / "report 1.txt"), "first version");

  // An empty upload has a modification time of now, like any other.
  ASSERT_EQ(put("/files/empty", "").status, 201);
  const auto empty = get("/files/empty");
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.header("content-length"), "0");
  std::tm modified{};
  ASSERT_NE(strptime(empty.header("last-modified").c_str(), "%a, %d %b %Y %H:%M:%S GMT", &modified),
            nullptr)
      << empty.header("last-modified");
  EXPECT_LT(std::abs(timegm(&modified) - std::time(nullptr)), 60) << empty.header("last-modified");

  auto replaced = put("/files/docs/report%201.txt", "second version");
  EXPECT_EQ(replaced.status, 204);
  const std::string etag2 = replaced.header("etag");
  EXPECT_NE(etag2, etag);

  auto got = get("/files/docs/report%201.txt");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "second version");
  EXPECT_EQ(got.header("content-length"), "14");
  EXPECT_EQ(got.header("etag"), etag2);
  EXPECT_FALSE(got.header("last-modified").empty());

  auto head = http("HEAD", url("/files/docs/report%201.txt"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "14");
  EXPECT_TRUE(head.body.empty());

  auto range = get("/files/docs/report%201.txt", {{"Range", "bytes=7-13"}});
  EXPECT_EQ(range.status, 206);
  EXPECT_EQ(range.body, "version");
  EXPECT_EQ(range.header("content-range"), "bytes 7-13/14");
  EXPECT_EQ(get("/files/docs/report%201.txt", {{"Range", "bytes=100-"}}).status, 416);
  EXPECT_EQ(get("/files/docs/report%201.txt", {{"If-None-Match", etag2}}).status, 304);
  EXPECT_EQ(get("/files/docs/report%201.txt", {{"If-Modified-Since", got.header("last-modified")}})
                .status,
            304);

  EXPECT_EQ(put("/files/docs/report%201.txt", "x", {{"If-None-Match", "*"}}).status, 412);
  EXPECT_EQ(put("/files/docs/report%201.txt", "x", {{"If-Match", etag}}).status, 412);
  EXPECT_EQ(get("/files/docs/report%201.txt").body, "second version");
  EXPECT_EQ(put("/files/docs/report%201.txt", "third", {{"If-Match", etag2}}).status, 204);
  // A date before the last change fails a PUT and a DELETE on every back end; a later one holds.
  const std::string long_ago = "Thu, 01 Jan 1970 00:00:00 GMT";
  EXPECT_EQ(put("/files/docs/report%201.txt", "x", {{"If-Unmodified-Since", long_ago}}).status,
            412);
  EXPECT_EQ(
      http("DELETE", url("/files/docs/report%201.txt"), "", {{"If-Unmodified-Since", long_ago}})
          .status,
      412);
  EXPECT_EQ(get("/files/docs/report%201.txt").body, "third");
  EXPECT_EQ(put("/files/docs/report%201.txt", "fourth",
                {{"If-Unmodified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}})
                .status,
            204);
  EXPECT_EQ(get("/files/docs/report%201.txt").body, "fourth");

  auto listing = get("/files/docs/");
  EXPECT_EQ(listing.status, 200);
  auto doc = nlohmann::json::parse(listing.body);
  ASSERT_EQ(doc["entries"].size(), 1u);
  EXPECT_EQ(doc["entries"][0]["name"], "report 1.txt");

  EXPECT_EQ(put("/files/docs", "x").status, 409);  // a directory is there
  EXPECT_EQ(http("DELETE", url("/files/docs/report%201.txt")).status, 204);
  auto missing = get("/files/docs/report%201.txt");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "NotFound");
  EXPECT_EQ(missing.header("content-type"), "application/json");
  EXPECT_EQ(http("DELETE", url("/files/docs/report%201.txt")).status, 404);

  EXPECT_EQ(http("POST", url("/files/x"), "y").status, 405);
  EXPECT_EQ(http("DELETE", url("/healthz")).status, 405);
  EXPECT_EQ(get("/nowhere").status, 404);
  EXPECT_EQ(put("/files/big", std::string(1048577, 'b')).status, 413);
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "big"));
  EXPECT_EQ(get("/files/" + std::string(17000, 'a')).status, 414);

  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_TRUE(eventually([&] { return get("/readyz").status == 200; }));
  const auto t = targets();
  EXPECT_EQ(t["generation"], 1);
  EXPECT_EQ(t["mount_targets"].size(), 3u);
  // Whether each target's storage is a local disk, as learnt by its probes.
  EXPECT_TRUE(eventually([&] {
    const nlohmann::json now = targets();
    for (const auto& target : now["mount_targets"]) {
      if (target["local_storage"] != storage_->local_storage()) return false;
    }
    return true;
  })) << targets().dump();
  const std::string metrics = get("/metrics").body;
  for (const char* needle :
       {"file_service_requests_total{route=\"/files/{path}\",method=\"PUT\",status=\"201\"",
        "file_service_request_duration_seconds_bucket{route=\"/files/{path}\"",
        "file_service_sent_bytes_total",
        "file_service_mount_target_healthy{mount_target=", "file_service_config_generation 1"}) {
    EXPECT_NE(metrics.find(needle), std::string::npos) << needle;
  }
  EXPECT_EQ(temp_files(), 0u);
}

TEST_P(FileServiceIntegration, LargeFilesStreamWholeAndInRanges) {
  start();
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) % 251);
  ASSERT_EQ(put("/files/big.bin", big).status, 201);
  auto got = get("/files/big.bin");
  EXPECT_EQ(got.status, 200);
  EXPECT_TRUE(got.body == big) << "sizes " << got.body.size() << " vs " << big.size();
  auto part = get("/files/big.bin", {{"Range", "bytes=1000000-2999999"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_TRUE(part.body == big.substr(1000000, 2000000));
}

TEST_P(FileServiceIntegration, UnsafePathsAreRejected) {
  start();
  TempDir outside;
  write_file(outside.path() / "secret", "secret");
  fs::create_directory_symlink(outside.path(), storage_->data_dir() / "link");
  for (const std::string& path : std::vector<std::string>{
           std::string("/files/../escape"), std::string("/files/a/../../escape"),
           std::string("/files/%2e%2e/escape"), std::string("/files/%2E%2E%2Fescape"),
           std::string("/files/a%00b"), std::string("/files/a//b"), std::string("/files/.efsas-x"),
           std::string("/files/") + std::string(256, 'n'), std::string("/files/link/secret"),
           std::string("/files/link/new")}) {
    EXPECT_EQ(put(path, "data").status, 400) << path;
    EXPECT_EQ(get(path).status, 400) << path;
  }
  // Raw request lines too, exactly as a hostile client would send them.
  const std::string raw = raw_exchange(service_->port(),
                                       "GET /files/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n"
                                       "Connection: close\r\n\r\n");
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 400")) << raw;
  EXPECT_FALSE(fs::exists(outside.path() / "new"));
  EXPECT_FALSE(fs::exists(storage_->data_dir().parent_path() / "escape"));
  EXPECT_EQ(read_file(outside.path() / "secret"), "secret");
}

TEST_P(FileServiceIntegration, ReadersNeverSeeATornFile) {
  start();
  constexpr std::size_t kSize = 512 * 1024;
  ASSERT_EQ(put("/files/hot.bin", std::string(kSize, 'A')).status, 201);
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> reads{0};
  std::atomic<int> errors{0};
  std::mutex first_error_mutex;
  std::string first_error;
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        auto got = get("/files/hot.bin");
        if (got.status != 200) {
          if (++errors == 1) {
            std::lock_guard lock(first_error_mutex);
            first_error = std::to_string(got.status) + " " + got.body.substr(0, 300);
          }
          continue;
        }
        ++reads;
        if (got.body.size() != kSize ||
            got.body.find_first_not_of(got.body.front()) != std::string::npos) {
          ++torn;
        }
      }
    });
  }
  for (int version = 0; version < 40; ++version) {
    const auto written =
        put("/files/hot.bin", std::string(kSize, static_cast<char>('B' + version % 20)));
    EXPECT_EQ(written.status, 204) << written.body;
  }
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(errors.load(), 0) << first_error;
  EXPECT_GT(reads.load(), 10);
  EXPECT_EQ(temp_files(), 0u);
}

TEST_P(FileServiceIntegration, ServerKilledMidUploadLeavesNoPartialFile) {
  start();
  ASSERT_EQ(put("/files/precious.txt", "old content").status, 201);
  const int fd = connect_loopback(service_->port());
  ASSERT_GE(fd, 0);
  const std::string header =
      "PUT /files/precious.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n";
  ::send(fd, header.data(), header.size(), MSG_NOSIGNAL);
  const std::string chunk(1 << 20, 'N');
  for (int i = 0; i < 8; ++i) ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
  const int fd2 = connect_loopback(service_->port());
  const std::string header2 =
      "PUT /files/fresh.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n";
  ::send(fd2, header2.data(), header2.size(), MSG_NOSIGNAL);
  ::send(fd2, chunk.data(), chunk.size(), MSG_NOSIGNAL);
  service_->process().signal(SIGKILL);
  service_->process().wait(std::chrono::seconds(5));
  ::close(fd);
  ::close(fd2);
  EXPECT_EQ(read_file(storage_->data_dir() / "precious.txt"), "old content");
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "fresh.txt"));
  start();
  EXPECT_EQ(get("/files/precious.txt").body, "old content");
  EXPECT_EQ(get("/files/fresh.txt").status, 404);
}

// A temporary file counts as left behind once nothing has changed it for TEMP_MAX_AGE_SECONDS, by
// its ctime, which no client can set. Its mtime says nothing: an NFS exclusive create keeps its
// verifier there until the first write, and it can look hours old for an upload in progress.
TEST_P(FileServiceIntegration, TempFilesLeftByACrashAreSwept) {
  const fs::path stale = storage_->data_dir() / "crashed" / ".efsas-0123abcd-7.tmp";
  fs::create_directories(stale.parent_path());
  write_file(stale, "partial upload");
  std::this_thread::sleep_for(std::chrono::seconds(5));  // past TEMP_MAX_AGE_SECONDS below
  const fs::path in_flight = storage_->data_dir() / ".efsas-0123abcd-8.tmp";
  write_file(in_flight, "upload in progress elsewhere");
  fs::last_write_time(in_flight, fs::file_time_type::clock::now() - std::chrono::hours(2));
  start({{"TEMP_SWEEP_INTERVAL_SECONDS", "1"}, {"TEMP_MAX_AGE_SECONDS", "4"}});
  EXPECT_TRUE(eventually([&] { return !fs::exists(stale); })) << service_->log();
  EXPECT_TRUE(fs::exists(in_flight)) << "a temporary file changed a moment ago was swept";
  EXPECT_EQ(get("/files/crashed/").body.find(".efsas-"), std::string::npos);
}

TEST_P(FileServiceIntegration, FailoverKeepsEveryRequestWorking) {
  start({{"HEALTH_FAILURES_TO_DOWN", "2"}, {"HEALTH_SUCCESSES_TO_UP", "2"}});
  std::vector<std::string> paths;
  for (int i = 0; i < 30; ++i) {
    paths.push_back("/files/fo/file-" + std::to_string(i));
    const auto created = put(paths.back(), "v1-" + std::to_string(i));
    ASSERT_EQ(created.status, 201) << created.body << service_->log();
  }
  const std::string down = storage_->target_id(1);
  storage_->make_unavailable(1);
  // At once, before the health checks notice: every request still works, and writes move down
  // their ranking (a write checks the target's root every time; a read may still come through a
  // root the directory back end checked within the last second).
  for (std::size_t i = 0; i < paths.size(); ++i) {
    auto got = get(paths[i]);
    EXPECT_EQ(got.status, 200) << paths[i];
    EXPECT_EQ(got.body, "v1-" + std::to_string(i));
    if (!storage_->reads_may_lag_unavailable()) {
      EXPECT_NE(got.header("x-mount-target"), down);
    }
    auto written = put(paths[i], "v2-" + std::to_string(i));
    EXPECT_EQ(written.status, 204) << paths[i];
    EXPECT_NE(written.header("x-mount-target"), down);
  }
  EXPECT_TRUE(eventually([&] { return !target_healthy(down); })) << targets().dump();
  EXPECT_TRUE(eventually([&] { return get("/readyz").status == 200; }));
  for (std::size_t i = 0; i < paths.size(); ++i) {
    auto got = get(paths[i]);
    EXPECT_EQ(got.body, "v2-" + std::to_string(i));
    EXPECT_NE(got.header("x-mount-target"), down);
    EXPECT_EQ(http("DELETE", url(paths[i])).status, 204);
  }
  storage_->restore(1);
  EXPECT_TRUE(eventually([&] { return target_healthy(down); })) << targets().dump();
  // Back up, it serves its share again.
  bool served = false;
  for (int i = 0; i < 60 && !served; ++i) {
    served = put("/files/back/" + std::to_string(i), "x").header("x-mount-target") == down;
  }
  EXPECT_TRUE(served);
}

// With every mount target unavailable, requests are 503 and /readyz says "degraded", still 200:
// the load balancer keeps the task (every task would fail alike), and it serves again as soon
// as its mount targets are back.
TEST_P(FileServiceIntegration, NoHealthyTargetAnswers503) {
  start({{"HEALTH_FAILURES_TO_DOWN", "1"}});
  const auto readyz_status = [&] {
    const auto ready = get("/readyz");
    const auto body = nlohmann::json::parse(ready.body, nullptr, false);
    return std::to_string(ready.status) + " " +
           (body.is_object() && body.contains("status") ? body["status"].get<std::string>() : "");
  };
  ASSERT_TRUE(eventually([&] { return readyz_status() == "200 ready"; })) << service_->log();
  for (int i = 0; i < 3; ++i) storage_->make_unavailable(i);
  EXPECT_TRUE(eventually([&] { return readyz_status() == "200 degraded"; })) << service_->log();
  EXPECT_EQ(get("/files/x").status, 503);
  EXPECT_EQ(put("/files/x", "y").status, 503);
  EXPECT_EQ(get("/healthz").status, 200);
  for (int i = 0; i < 3; ++i) storage_->restore(i);
  EXPECT_TRUE(eventually([&] { return readyz_status() == "200 ready"; }));
}

TEST_P(FileServiceIntegration, ManyClientsAtOnce) {
  start();
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 24; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < 25; ++i) {
        const std::string path = "/files/many/" + std::to_string(c) + "/" + std::to_string(i % 5);
        const std::string body = std::to_string(c) + ":" + std::to_string(i);
        const auto written = put(path, body);
        if (written.status != 201 && written.status != 204) {
          ++failures;
          ADD_FAILURE() << "PUT " << path << ": " << written.status << " " << written.body;
        }
        const auto got = get(path);
        if (got.status != 200 || got.body != body) {
          ++failures;
          ADD_FAILURE() << "GET " << path << ": " << got.status << " " << got.body;
        }
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(temp_files(), 0u);
}

TEST_P(FileServiceIntegration, SlowClientsAndConnectionLimit) {
  start({{"HEADER_TIMEOUT_MS", "300"}, {"MAX_CONNECTIONS", "3"}});
  // A client that never finishes its header is cut off.
  const auto started = std::chrono::steady_clock::now();
  const std::string slow =
      raw_exchange(service_->port(), "GET /files/x HTTP/1.1\r\nHo", std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(slow.find("200 OK"), std::string::npos);

  // Three keep-alive connections, each known to be accepted (it was answered), fill the limit.
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) {
    const int fd = connect_loopback(service_->port());
    ASSERT_GE(fd, 0);
    held.push_back(fd);
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string answer;
    char buffer[4096];
    while (answer.find("\"ok\"") == std::string::npos) {
      pollfd ready{fd, POLLIN, 0};
      ASSERT_GT(::poll(&ready, 1, 5000), 0) << "no answer on held connection " << i;
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      ASSERT_GT(n, 0) << answer;
      answer.append(buffer, static_cast<std::size_t>(n));
    }
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  }
  const std::string refused = raw_exchange(service_->port(), "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 503")) << refused;
  // A whole answer: its body is as long as its Content-Length says, so a client sees a 503 to
  // retry, not a transfer cut short.
  const auto body_at = refused.find("\r\n\r\n");
  const auto length_at = refused.find("Content-Length: ");
  ASSERT_NE(body_at, std::string::npos) << refused;
  ASSERT_LT(length_at, body_at) << refused;
  const std::string body = refused.substr(body_at + 4);
  EXPECT_EQ(std::stoul(refused.substr(length_at + 16)), body.size()) << refused;
  EXPECT_EQ(nlohmann::json::parse(body, nullptr, false)["error"]["status"], 503) << refused;
  EXPECT_NE(refused.find("Retry-After: 1\r\n"), std::string::npos) << refused;
  for (const int fd : held) ::close(fd);
  EXPECT_TRUE(eventually([&] { return get("/healthz").status == 200; }));
}

// Reads from `fd` until `needle` has arrived (then returns all read so far), the server closes,
// or five seconds pass.
std::string receive_until(int fd, std::string_view needle) {
  std::string got;
  char buffer[4096];
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.find(needle) == std::string::npos && std::chrono::steady_clock::now() < give_up) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

// Starts an upload of `size` bytes ('h') on a connection of its own, sending the first `sent`.
int begin_upload(int port, const std::string& path, std::size_t size, std::size_t sent) {
  const int fd = connect_loopback(port);
  const std::string head = "PUT " + path +
                           " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
                           "\r\n\r\n" + std::string(sent, 'h');
  EXPECT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  return fd;
}

// The first line of an answer: "HTTP/1.1 201 Created".
std::string status_line(const std::string& answer) { return answer.substr(0, answer.find("\r\n")); }

// Sends the upload's other `rest` bytes and returns the answer's status line.
std::string finish_upload(int fd, std::size_t rest) {
  const std::string tail(rest, 'h');
  EXPECT_EQ(::send(fd, tail.data(), tail.size(), MSG_NOSIGNAL), static_cast<ssize_t>(rest));
  const std::string answer = receive_until(fd, "\r\n\r\n");
  ::close(fd);
  return status_line(answer);
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Splits the responses of one connection, whose requests were HEAD where `head` says so: a HEAD
// response ends with its header, any other after its Content-Length bytes. Returns each
// response's status line and header, or stops at the first that does not parse.
std::vector<std::string> split_responses(std::string_view raw, const std::vector<bool>& head) {
  std::vector<std::string> out;
  for (const bool is_head : head) {
    const auto end = raw.find("\r\n\r\n");
    if (!raw.starts_with("HTTP/1.1 ") || end == std::string_view::npos) break;
    std::string header(raw.substr(0, end + 4));
    std::size_t length = 0;
    if (const auto at = header.find("Content-Length: "); at != std::string::npos) {
      length = std::stoul(header.substr(at + 16));
    }
    raw.remove_prefix(end + 4);
    if (!is_head) raw.remove_prefix(std::min(length, raw.size()));
    out.push_back(std::move(header));
  }
  if (!raw.empty()) out.push_back("left over: " + std::string(raw));
  return out;
}

// A HEAD is answered with the header alone, Content-Length included, whatever the status and
// whatever built the answer: on a kept-alive connection the next response starts right after it.
TEST_P(FileServiceIntegration, HeadAnswersCarryNoBodyWhateverTheStatus) {
  start();
  ASSERT_EQ(put("/files/head/a.txt", "hello").status, 201);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"HEAD /files/head/missing.txt HTTP/1.1\r\n", "404"},
      {"HEAD /files/head/a.txt HTTP/1.1\r\nIf-Match: \"nope\"\r\nRange: bytes=1-\r\n", "412"},
      {"HEAD /files/head/a.txt HTTP/1.1\r\nIf-Match: \"nope\"\r\n", "412"},
      {"HEAD /files/head HTTP/1.1\r\n", "409"},
      {"HEAD /files/a//b HTTP/1.1\r\n", "400"},
      {"HEAD /nosuchroute HTTP/1.1\r\n", "404"},
      {"HEAD /files/" + std::string(17000, 'a') + " HTTP/1.1\r\n", "414"},
      {"HEAD /files/head/a.txt HTTP/1.1\r\n", "200"},
  };
  std::string requests;
  for (const auto& [request, status] : cases) requests += request + "Host: x\r\n\r\n";
  requests += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string raw = raw_exchange(service_->port(), requests);
  std::vector<bool> head(cases.size(), true);
  head.push_back(false);
  const std::vector<std::string> responses = split_responses(raw, head);
  ASSERT_EQ(responses.size(), cases.size() + 1) << raw;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_TRUE(responses[i].starts_with("HTTP/1.1 " + cases[i].second)) << responses[i];
    EXPECT_EQ(responses[i].find("Content-Length: 0\r\n"), std::string::npos) << responses[i];
  }
  const std::string& file_head = responses[cases.size() - 1];
  EXPECT_NE(file_head.find("Content-Length: 5\r\n"), std::string::npos) << file_head;
  EXPECT_TRUE(responses.back().starts_with("HTTP/1.1 200")) << responses.back();
  EXPECT_TRUE(raw.ends_with("{\"status\":\"ok\"}\n")) << raw;
}

// HTTP/1.1 as clients other than curl send it: several requests in one write, chunked bodies,
// Expect: 100-continue, repeated header fields, HTTP/1.0; and what is not HTTP gets 400, 413 or
// 431 with nothing written.
TEST_P(FileServiceIntegration, RequestsOnTheWire) {
  start({{"BODY_LIMIT_BYTES", "1024"}});
  const std::string pipelined =
      raw_exchange(service_->port(),
                   "PUT /files/wire/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                   "GET /files/wire/a HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /files/wire/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(pipelined.starts_with("HTTP/1.1 201")) << pipelined;
  EXPECT_EQ(count_of(pipelined, "HTTP/1.1 200 OK\r\n"), 2u) << pipelined;
  EXPECT_TRUE(pipelined.ends_with("hello")) << pipelined;

  const std::string chunked =
      raw_exchange(service_->port(),
                   "PUT /files/wire/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.starts_with("HTTP/1.1 201")) << chunked;
  EXPECT_EQ(read_file(storage_->data_dir() / "wire" / "chunked"), "hello world");

  // The body is sent only after the interim answer.
  const int fd = connect_loopback(service_->port());
  ASSERT_GE(fd, 0);
  const std::string expect =
      "PUT /files/wire/expect HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
      "Expect: 100-continue\r\n\r\n";
  ASSERT_EQ(::send(fd, expect.data(), expect.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(expect.size()));
  const std::string interim = receive_until(fd, "\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(::send(fd, "body", 4, MSG_NOSIGNAL), 4);
  const std::string final_answer = receive_until(fd, "\r\n\r\n");
  ::close(fd);
  EXPECT_TRUE(final_answer.starts_with("HTTP/1.1 201")) << final_answer;
  EXPECT_EQ(read_file(storage_->data_dir() / "wire" / "expect"), "body");

  // When the header alone decides a 4xx, that is the answer instead of the interim one: the
  // client never sends a body that would be thrown away. The connection then closes.
  struct Refused {
    std::string line;   // method and target
    std::string field;  // an extra header field, or empty
    std::string status;
  };
  const std::vector<Refused> refused = {
      {"PUT /files/wire/%zz", "", "400"},
      {"PUT /files/wire/", "", "405"},
      {"PUT /nowhere", "", "404"},
      {"POST /files/wire/expect-post", "", "405"},
      {"PUT /files/wire/expect-inm", "If-None-Match: \"x\"\r\n", "400"},
  };
  for (const auto& [line, field, status] : refused) {
    const int refused_fd = connect_loopback(service_->port());
    ASSERT_GE(refused_fd, 0);
    const timeval recv_timeout{.tv_sec = 5, .tv_usec = 0};  // a server that waits fails, not hangs
    ::setsockopt(refused_fd, SOL_SOCKET, SO_RCVTIMEO, &recv_timeout, sizeof recv_timeout);
    const std::string full = line + " HTTP/1.1\r\nHost: x\r\n" + field +
                             "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    ASSERT_EQ(::send(refused_fd, full.data(), full.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(full.size()));
    const std::string answer = receive_until(refused_fd, "\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 " + status)) << line << ": " << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
    char rest[4096];
    ssize_t n = 0;
    while ((n = ::recv(refused_fd, rest, sizeof rest, 0)) > 0) {
    }
    EXPECT_EQ(n, 0) << line << ": the server closes the connection";
    ::close(refused_fd);
  }
  EXPECT_FALSE(std::filesystem::exists(storage_->data_dir() / "wire" / "expect-inm"));
  EXPECT_FALSE(std::filesystem::exists(storage_->data_dir() / "wire" / "expect-post"));

  // A repeated field counts with all its values: one of the listed tags matches.
  const std::string etag = get("/files/wire/a").header("etag");
  const std::string repeated =
      raw_exchange(service_->port(),
                   "GET /files/wire/a HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"other\"\r\n"
                   "If-None-Match: " +
                       etag + "\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(repeated.starts_with("HTTP/1.1 304")) << repeated;

  // HTTP/1.0 without keep-alive: answered, then closed by the server.
  const auto started = std::chrono::steady_clock::now();
  const std::string old = raw_exchange(service_->port(), "GET /files/wire/a HTTP/1.0\r\n\r\n",
                                       std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_TRUE(old.starts_with("HTTP/1.1 200")) << old;
  EXPECT_TRUE(old.ends_with("hello")) << old;
  // HTTP/1.0 asking for keep-alive is told it is kept (an HTTP/1.0 client closes otherwise), and
  // its next request on the connection is answered.
  const std::string kept = raw_exchange(service_->port(),
                                        "GET /files/wire/a HTTP/1.0\r\nConnection: keep-alive\r\n"
                                        "\r\nGET /files/wire/a HTTP/1.0\r\n\r\n",
                                        std::chrono::seconds(10));
  const auto second = kept.find("HTTP/1.1 200", 1);
  ASSERT_NE(second, std::string::npos) << kept;
  EXPECT_NE(kept.substr(0, second).find("\r\nConnection: keep-alive\r\n"), std::string::npos)
      << kept;
  EXPECT_NE(kept.substr(second).find("\r\nConnection: close\r\n"), std::string::npos) << kept;

  const auto answer_to = [&](const std::string& request) {
    return status_line(raw_exchange(service_->port(), request));
  };
  EXPECT_EQ(answer_to("NOT HTTP AT ALL\r\n\r\n"), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(answer_to("GET /files/wire/a HTTP/1.1\r\nno colon here\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(answer_to("PUT /files/wire/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      "\r\nzz\r\nhello\r\n0\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(answer_to("GET /files/wire/a HTTP/1.1\r\nHost: x\r\nX-Big: " +
                      std::string(70 * 1024, 'h') + "\r\n\r\n"),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(answer_to("PUT /files/wire/big HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" +
                      std::string(2000, 'b')),
            "HTTP/1.1 413 Payload Too Large");
  // Chunked: the limit is found only as the chunks arrive.
  EXPECT_EQ(
      answer_to("PUT /files/wire/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                "\r\n200\r\n" +
                std::string(512, 'b') + "\r\n400\r\n" + std::string(1024, 'b') + "\r\n0\r\n\r\n"),
      "HTTP/1.1 413 Payload Too Large");
  // Methods nobody defined are answered 405 and counted under one label, however many there are.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(answer_to("BOGUS" + std::to_string(i) +
                        " /files/wire/a HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n"),
              "HTTP/1.1 405 Method Not Allowed");
  }
  const std::string metrics = get("/metrics").body;
  EXPECT_EQ(metrics.find("BOGUS"), std::string::npos);
  EXPECT_NE(metrics.find("method=\"other\",status=\"405\""), std::string::npos) << metrics;
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "wire" / "bad"));
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "wire" / "big"));
  EXPECT_EQ(temp_files(), 0u);
}

// Framing a proxy in front could read otherwise is refused with 400 and the connection closed
// (RFC 9112 6.1, 6.3, 3.2): a Transfer-Encoding that is not exactly "chunked" (Beast would take
// the body as empty, replace the file with nothing and read the body as the next request), one
// on HTTP/1.0, a missing or repeated Host. A chunk line that never ends is refused instead of
// held, trailer fields are not taken as header fields, and an HTTP/1.0 client gets no 100.
TEST_P(FileServiceIntegration, FramingAProxyCouldReadOtherwiseIsRefused) {
  start();
  ASSERT_EQ(put("/files/frame/kept", "original").status, 201);
  for (const std::string coding : {"chunked, chunked", "gzip", "gzip, chunked", "identity"}) {
    const std::string answer =
        raw_exchange(service_->port(),
                     "PUT /files/frame/kept HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                         "\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(status_line(answer), "HTTP/1.1 400 Bad Request") << coding << ": " << answer;
    EXPECT_EQ(count_of(answer, "HTTP/1.1 "), 1u) << coding << ": " << answer;
  }
  const std::string twice =
      raw_exchange(service_->port(),
                   "PUT /files/frame/kept HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(status_line(twice), "HTTP/1.1 400 Bad Request") << twice;
  const std::string old_chunked =
      raw_exchange(service_->port(),
                   "PUT /files/frame/kept HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(status_line(old_chunked), "HTTP/1.1 400 Bad Request") << old_chunked;
  EXPECT_EQ(get("/files/frame/kept").body, "original");

  EXPECT_EQ(status_line(raw_exchange(service_->port(), "GET /files/frame/kept HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(raw_exchange(
                service_->port(), "GET /files/frame/kept HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(raw_exchange(service_->port(), "GET /files/frame/kept HTTP/1.0\r\n\r\n")),
            "HTTP/1.1 200 OK");

  // A chunk-size line that goes on and on: refused once it passes the header limit, not kept.
  const std::string endless = raw_exchange(service_->port(),
                                           "PUT /files/frame/endless HTTP/1.1\r\nHost: x\r\n"
                                           "Transfer-Encoding: chunked\r\n\r\n1;" +
                                               std::string(200 * 1024, 'a'));
  EXPECT_EQ(status_line(endless), "HTTP/1.1 400 Bad Request") << endless.substr(0, 300);
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "frame" / "endless"));

  // A trailer is not a header: an If-Match there does not make the PUT conditional.
  const std::string trailer = raw_exchange(service_->port(),
                                           "PUT /files/frame/kept HTTP/1.1\r\nHost: x\r\n"
                                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                           "3\r\nnew\r\n0\r\nIf-Match: \"not-the-etag\"\r\n\r\n");
  EXPECT_EQ(status_line(trailer), "HTTP/1.1 204 No Content") << trailer;
  EXPECT_EQ(get("/files/frame/kept").body, "new");

  // HTTP/1.0 does not know 100 Continue: the body follows the header, and the answer is final.
  const std::string old_expect =
      raw_exchange(service_->port(),
                   "PUT /files/frame/old HTTP/1.0\r\nContent-Length: 3\r\n"
                   "Expect: 100-continue\r\n\r\nold");
  EXPECT_EQ(status_line(old_expect), "HTTP/1.1 201 Created") << old_expect;
  EXPECT_EQ(read_file(storage_->data_dir() / "frame" / "old"), "old");
  EXPECT_EQ(temp_files(), 0u);
}

// Thousands of requests pipelined in one write, some 1,600 at a time in the service's buffer,
// are all answered, and the service goes on serving.
TEST_P(FileServiceIntegration, ThousandsOfPipelinedRequestsAreAllAnswered) {
  start();
  ASSERT_EQ(put("/files/pipe/a", "p").status, 201);
  constexpr int kRequests = 3000;
  // The first request's large header makes the service read the rest 64 KiB at a time: some
  // 1,600 requests at once in its buffer.
  std::string requests =
      "GET /files/pipe/a HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(60 * 1024, 'p') + "\r\n\r\n";
  for (int i = 1; i < kRequests; ++i) requests += "GET /files/pipe/a HTTP/1.1\r\nHost: x\r\n\r\n";
  requests += "GET /files/pipe/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string answers = raw_exchange(service_->port(), requests, std::chrono::seconds(60));
  EXPECT_EQ(count_of(answers, "HTTP/1.1 200 OK\r\n"), static_cast<std::size_t>(kRequests + 1));
  EXPECT_EQ(get("/healthz").status, 200);
}

// Every wait has its timeout: a body that stops coming (BODY_TIMEOUT_MS), a keep-alive connection
// with no next request and a client that stops reading its response (IDLE_TIMEOUT_MS, which also
// bounds each write's progress). The server closes the connection; nothing is written.
TEST_P(FileServiceIntegration, StalledClientsAreCutOffByTheirTimeouts) {
  start({{"BODY_TIMEOUT_MS", "300"}, {"IDLE_TIMEOUT_MS", "300"}});
  const auto took = [](auto started) { return std::chrono::steady_clock::now() - started; };

  auto started = std::chrono::steady_clock::now();
  const std::string stalled = raw_exchange(
      service_->port(),
      "PUT /files/stall/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
      std::chrono::seconds(5));
  EXPECT_LT(took(started), std::chrono::seconds(3)) << "closed by the server, not the client";
  EXPECT_EQ(stalled.find("HTTP/1.1 2"), std::string::npos) << stalled;
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "stall" / "a"));

  // BODY_TIMEOUT_MS bounds the whole body: one that trickles in, a byte every 50 ms, is cut off
  // too.
  const int trickle = connect_loopback(service_->port());
  ASSERT_GE(trickle, 0);
  const std::string trickle_head =
      "PUT /files/stall/t HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n";
  ASSERT_EQ(::send(trickle, trickle_head.data(), trickle_head.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(trickle_head.size()));
  started = std::chrono::steady_clock::now();
  bool cut_off = false;
  for (int i = 0; i < 60 && !cut_off; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cut_off = ::send(trickle, "t", 1, MSG_NOSIGNAL) != 1;
    pollfd ready{trickle, POLLIN, 0};
    char byte = 0;
    if (!cut_off && ::poll(&ready, 1, 0) > 0) cut_off = ::recv(trickle, &byte, 1, 0) <= 0;
  }
  ::close(trickle);
  EXPECT_TRUE(cut_off) << "a body trickling in for 3 s was not cut off";
  EXPECT_LT(took(started), std::chrono::seconds(2));
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "stall" / "t"));

  started = std::chrono::steady_clock::now();
  const std::string idle = raw_exchange(
      service_->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(5));
  EXPECT_TRUE(idle.starts_with("HTTP/1.1 200")) << idle;
  EXPECT_LT(took(started), std::chrono::seconds(3)) << "closed by the server, not the client";

  // Larger than what the two socket buffers of a loopback connection can hold; written straight
  // into the file system, since an upload this size may take longer than the body timeout here.
  const std::string big(24 * 1024 * 1024, 'w');
  fs::create_directories(storage_->data_dir() / "stall");
  write_file(storage_->data_dir() / "stall" / "big", big);
  const int reader = connect_loopback(service_->port());
  ASSERT_GE(reader, 0);
  const std::string request = "GET /files/stall/big HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(reader, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // reads nothing meanwhile
  std::size_t received = 0;
  bool closed = false;
  char buffer[65536];
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!closed && std::chrono::steady_clock::now() < give_up) {
    pollfd ready{reader, POLLIN, 0};
    if (::poll(&ready, 1, 1000) <= 0) continue;
    const ssize_t n = ::recv(reader, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed = true;
    } else {
      received += static_cast<std::size_t>(n);
    }
  }
  ::close(reader);
  EXPECT_TRUE(closed) << "the server kept a connection that stopped reading";
  EXPECT_LT(received, big.size()) << "the whole response went out";
  EXPECT_EQ(get("/healthz").status, 200);
}

// Bodies are held in memory, taken as bytes arrive, up to UPLOAD_MEMORY_LIMIT_BYTES; a body that
// finds no room waits in the spool directory, up to UPLOAD_SPOOL_LIMIT_BYTES; an upload past both
// is refused (503, nothing written) until others finish. A client that declares a large body and
// sends nothing holds nothing.
TEST_P(FileServiceIntegration, BodiesPastTheMemoryLimitAreSpooledAndPastBothLimitsRefused) {
  start({{"UPLOAD_MEMORY_LIMIT_BYTES", "1000"},
         {"BODY_LIMIT_BYTES", "1000"},
         {"UPLOAD_SPOOL_LIMIT_BYTES", "1000"}});
  // Declarations alone: five connections announce 1000 bytes each and send none.
  std::vector<int> idle;
  for (int i = 0; i < 5; ++i)
    idle.push_back(begin_upload(service_->port(), "/files/budget/idle", 1000, 0));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(put("/files/budget/free", std::string(1000, 'f')).status, 201);

  // One upload under way holds 800 bytes of memory; the next finds no room and spools.
  // (One after the other: the server reads connections on two threads.)
  const int in_memory = begin_upload(service_->port(), "/files/budget/memory", 800, 100);
  ASSERT_TRUE(eventually([&] { return metric("file_service_upload_memory_bytes") == 800; }))
      << get("/metrics").body;
  const int spooled = begin_upload(service_->port(), "/files/budget/spooled", 800, 700);
  ASSERT_TRUE(eventually([&] { return metric("file_service_upload_spool_bytes") == 700; }))
      << get("/metrics").body;
  // Memory has 200 bytes left and the spool 300: an 800-byte body fits neither.
  const auto refused = put("/files/budget/refused", std::string(800, 'r'));
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.header("retry-after"), "1");
  EXPECT_NE(refused.body.find("over the upload memory and spool limits"), std::string::npos)
      << refused.body;
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "budget" / "refused"));
  // What is held shows in the metrics.
  const auto holds = [&](const std::string& series) {
    return get("/metrics").body.find("\n" + series + "\n") != std::string::npos;
  };
  EXPECT_TRUE(holds("file_service_upload_memory_bytes 800")) << get("/metrics").body;
  EXPECT_TRUE(holds("file_service_upload_spool_bytes 700")) << get("/metrics").body;
  EXPECT_EQ(put("/files/budget/small", std::string(150, 's')).status, 201);  // fits in memory

  EXPECT_EQ(finish_upload(spooled, 100), "HTTP/1.1 201 Created");
  EXPECT_EQ(read_file(storage_->data_dir() / "budget" / "spooled"), std::string(800, 'h'));
  // The spool is free again: a full-size body and a chunked one go there and arrive whole.
  std::string body(800, 'x');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(put("/files/budget/refused", body).status, 201);
  EXPECT_EQ(get("/files/budget/refused").body, body);
  const std::string chunked = raw_exchange(
      service_->port(),
      "PUT /files/budget/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n12c\r\n" +
          std::string(300, 'c') + "\r\n12c\r\n" + std::string(300, 'd') + "\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.starts_with("HTTP/1.1 201")) << chunked;
  EXPECT_EQ(read_file(storage_->data_dir() / "budget" / "chunked"),
            std::string(300, 'c') + std::string(300, 'd'));

  EXPECT_EQ(finish_upload(in_memory, 700), "HTTP/1.1 201 Created");
  EXPECT_EQ(read_file(storage_->data_dir() / "budget" / "memory"), std::string(800, 'h'));
  for (int fd : idle) ::close(fd);
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "budget" / "idle"));
  // Three bodies went through the spool; nothing is held any more.
  EXPECT_TRUE(eventually([&] {
    return holds("file_service_upload_memory_bytes 0") &&
           holds("file_service_upload_spool_bytes 0");
  })) << get("/metrics").body;
  EXPECT_TRUE(holds("file_service_spooled_uploads_total 3")) << get("/metrics").body;
}

// A large body that finds no room in memory is written to the spool in batches and arrives
// whole; a client that waits for "100 Continue" is told 503 before it sends a body that could
// not be held.
TEST_P(FileServiceIntegration, LargeBodiesSpoolWholeAndAnExpectingClientIsRefusedBeforeItsBody) {
  constexpr std::size_t kMiB = 1024 * 1024;
  start({{"UPLOAD_MEMORY_LIMIT_BYTES", std::to_string(2 * kMiB)},
         {"BODY_LIMIT_BYTES", std::to_string(2 * kMiB)},
         {"UPLOAD_SPOOL_LIMIT_BYTES", std::to_string(3 * kMiB)}});
  // Half of a 2 MiB body in memory: its buffer has grown to take all of the memory.
  const int held = begin_upload(service_->port(), "/files/large/held", 2 * kMiB, kMiB + 1);
  ASSERT_TRUE(eventually([&] { return metric("file_service_upload_memory_bytes") > kMiB; }))
      << get("/metrics").body;
  std::string body(2 * kMiB, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 131) % 253);
  EXPECT_EQ(put("/files/large/spooled", body).status, 201);
  EXPECT_EQ(read_file(storage_->data_dir() / "large" / "spooled"), body);

  // 1.5 MiB more in the spool: a 2 MiB body fits neither there nor in memory.
  const int spooling =
      begin_upload(service_->port(), "/files/large/spooling", 2 * kMiB, kMiB + kMiB / 2);
  ASSERT_TRUE(eventually([&] {
    return metric("file_service_upload_spool_bytes") >= static_cast<double>(kMiB + kMiB / 2);
  })) << get("/metrics").body;
  const int expecting = connect_loopback(service_->port());
  const std::string head = "PUT /files/large/expecting HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                           std::to_string(2 * kMiB) + "\r\nExpect: 100-continue\r\n\r\n";
  ASSERT_EQ(::send(expecting, head.data(), head.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(head.size()));
  const std::string answer = receive_until(expecting, "\r\n\r\n");
  ::close(expecting);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 503")) << answer;

  EXPECT_EQ(finish_upload(spooling, kMiB / 2), "HTTP/1.1 201 Created");
  EXPECT_EQ(finish_upload(held, kMiB - 1), "HTTP/1.1 201 Created");
  EXPECT_EQ(read_file(storage_->data_dir() / "large" / "spooling"), std::string(2 * kMiB, 'h'));
  EXPECT_EQ(read_file(storage_->data_dir() / "large" / "held"), std::string(2 * kMiB, 'h'));
  EXPECT_FALSE(fs::exists(storage_->data_dir() / "large" / "expecting"));
}

TEST_P(FileServiceIntegration, StaticListFromTheEnvironment) {
  list_file_.clear();
  start({{"MOUNT_TARGETS_JSON", storage_->list_document(7, 2)}});
  EXPECT_EQ(targets()["generation"], 7);
  EXPECT_EQ(targets()["mount_targets"].size(), 2u);
  EXPECT_EQ(put("/files/env.txt", "e").status, 201);
  EXPECT_EQ(get("/files/env.txt").body, "e");
}

TEST_P(FileServiceIntegration, ReloadOnSighupAndKeepLastGoodList) {
  start();
  EXPECT_EQ(targets()["mount_targets"].size(), 3u);
  write_file(list_file_, storage_->list_document(2, 2));
  service_->process().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return targets()["generation"] == 2; }));
  EXPECT_EQ(targets()["mount_targets"].size(), 2u);
  ASSERT_EQ(put("/files/after-reload", "x").status, 201);

  write_file(list_file_, "{ not json");
  service_->process().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return get("/metrics").body.find("file_service_config_reload_failures_total 1") !=
           std::string::npos;
  }));
  write_file(list_file_, storage_->list_document(1, 3));  // an older generation
  service_->process().signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return get("/metrics").body.find("file_service_config_stale_generations_total 1") !=
           std::string::npos;
  }));
  EXPECT_EQ(targets()["generation"], 2);
  EXPECT_EQ(get("/files/after-reload").status, 200);
  EXPECT_TRUE(eventually([&] { return get("/readyz").status == 200; }));
}

TEST_P(FileServiceIntegration, GracefulShutdownFinishesInFlightRequests) {
  start();
  const int idle = connect_loopback(service_->port());  // a keep-alive connection doing nothing
  const int busy = connect_loopback(service_->port());
  ASSERT_GE(busy, 0);
  const std::string body(200000, 'g');
  const std::string header =
      "PUT /files/inflight HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n";
  ::send(busy, header.data(), header.size(), MSG_NOSIGNAL);
  ::send(busy, body.data(), 1000, MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  service_->process().signal(SIGTERM);
  // New connections are refused while the upload in progress may still finish.
  EXPECT_TRUE(eventually([&] {
    const int fd = connect_loopback(service_->port());
    if (fd >= 0) ::close(fd);
    return fd == -1;
  }));
  ::send(busy, body.data() + 1000, body.size() - 1000, MSG_NOSIGNAL);
  std::string response;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::recv(busy, buffer, sizeof buffer, 0)) > 0)
    response.append(buffer, static_cast<std::size_t>(n));
  ::close(busy);
  EXPECT_TRUE(response.starts_with("HTTP/1.1 201")) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  EXPECT_EQ(::recv(idle, buffer, sizeof buffer, 0), 0);  // closed by the server, not reset
  ::close(idle);
  EXPECT_EQ(service_->process().wait(std::chrono::seconds(10)), 0);
  EXPECT_EQ(read_file(storage_->data_dir() / "inflight"), body);
}

}  // namespace
}  // namespace efsas::service::testing
