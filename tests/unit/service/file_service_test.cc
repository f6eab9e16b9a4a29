// Request handling over real directory back ends (three mount-target roots that are links to one
// shared directory, as mount targets of one file system are): every route and status, ranges,
// conditional requests, unsafe paths, listing, failover and the 503/507 answers.
#include "efsas/service/file_service.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "efsas/service/directory_backend.h"
#include "efsas/testing/process.h"
#include "mount_target_lists.h"

namespace efsas::service {
namespace {

namespace fs = std::filesystem;
using efsas::testing::read_file;
using efsas::testing::TempDir;
using efsas::testing::write_file;

Request request(std::string method, std::string target, std::string body = "") {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::make_shared<const std::string>(std::move(body));
  return r;
}

// A back end whose every call fails with one error, to check how the service maps errors.
class FailingBackend final : public Backend {
 public:
  FailingBackend(MountTarget target, Error error)
      : target_(std::move(target)), error_(std::move(error)) {}
  const MountTarget& target() const override { return target_; }
  Result<PutResult> put(std::string_view, BodySource&, const WriteCondition&) override {
    return error_;
  }
  Result<std::shared_ptr<FileReader>> open(std::string_view) override { return error_; }
  Result<FileInfo> stat(std::string_view) override { return error_; }
  Status remove(std::string_view, const WriteCondition&) override { return error_; }
  Result<ListPage> list(std::string_view, std::size_t, std::string_view) override { return error_; }
  Status make_directories(std::string_view) override { return error_; }
  Status probe() override { return error_; }
  Result<std::size_t> sweep_temp_files(std::string_view, SystemTime, std::size_t) override {
    return error_;
  }

 private:
  MountTarget target_;
  Error error_;
};

class FailingFactory final : public BackendFactory {
 public:
  explicit FailingFactory(Error error) : error_(std::move(error)) {}
  Result<std::shared_ptr<Backend>> create(const MountTarget& target) override {
    return std::shared_ptr<Backend>(std::make_shared<FailingBackend>(target, error_));
  }

 private:
  Error error_;
};

class FileServiceTest : public ::testing::Test {
 protected:
  FileServiceTest() {
    fs::create_directory(data());
    for (const auto& target : make_list(3, 1).mount_targets) {
      fs::create_directory_symlink(data(), dir_.path() / target.id);
    }
    // Every read checks its root too, so a root removed here is failed over at once.
    factory_ = make_directory_backend_factory((dir_.path() / "{id}").string(), "unit",
                                              std::chrono::nanoseconds{0});
    auto table = build_routing_table(make_list(3, 1), nullptr, *factory_, HealthPolicy{});
    EXPECT_TRUE(table.ok()) << table.error().to_string();
    service_.set_table(*table);
  }

  fs::path data() const { return dir_.path() / "data"; }

  Response call(std::string method, std::string target, std::string body = "",
                Request::Headers headers = {}) {
    Request r = request(std::move(method), std::move(target), std::move(body));
    r.headers = std::move(headers);
    return service_.handle_request(r);
  }

  std::string primary_for(const std::string& path) const {
    return service_.table()->candidates(path).targets.front()->target.id;
  }

  TempDir dir_;
  std::shared_ptr<BackendFactory> factory_;
  FileService service_{ServiceOptions{}, std::make_shared<RealClock>(), Logger()};
};

TEST_F(FileServiceTest, PutGetHeadDeleteRoundTrip) {
  Response created = call("PUT", "/files/docs/a%20b.txt", "hello world");
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_NE(created.header("ETag"), nullptr);
  EXPECT_EQ(*created.header("X-Mount-Target"), primary_for("docs/a b.txt"));
  EXPECT_EQ(*created.header("Location"), "/files/docs/a%20b.txt");
  EXPECT_EQ(read_file(data() / "docs" / "a b.txt"), "hello world");

  Response replaced = call("PUT", "/files/docs/a%20b.txt", "bye");
  EXPECT_EQ(replaced.status, 204);
  EXPECT_TRUE(replaced.body.empty());
  EXPECT_NE(*replaced.header("ETag"), *created.header("ETag"));

  Response got = call("GET", "/files/docs/a%20b.txt");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "bye");
  EXPECT_EQ(*got.header("ETag"), *replaced.header("ETag"));
  // A cache must ask again before it serves a file that a PUT may have replaced since.
  ASSERT_NE(got.header("Cache-Control"), nullptr);
  EXPECT_EQ(*got.header("Cache-Control"), "no-cache");
  const Response unchanged =
      call("GET", "/files/docs/a%20b.txt", "", {{"if-none-match", *got.header("ETag")}});
  EXPECT_EQ(unchanged.status, 304);
  ASSERT_NE(unchanged.header("Cache-Control"), nullptr);
  EXPECT_NE(got.header("Last-Modified"), nullptr);
  EXPECT_EQ(got.route, "/files/{path}");

  Response head = call("HEAD", "/files/docs/a%20b.txt");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.head);
  EXPECT_EQ(head.content_length(), 3u);

  EXPECT_EQ(call("DELETE", "/files/docs/a%20b.txt").status, 204);
  Response missing = call("GET", "/files/docs/a%20b.txt");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "NotFound");
  EXPECT_EQ(call("DELETE", "/files/docs/a%20b.txt").status, 404);
}

// `touch -d 2500-01-01` is allowed; such a file still gets a real Last-Modified (the latest
// date the service can hold) and conditional reads against it still work.
TEST_F(FileServiceTest, AFileDatedCenturiesAheadIsServedWithAUsableDate) {
  write_file(data() / "future.txt", "from the future");
  const struct timespec times[2] = {{16'725'225'600, 0}, {16'725'225'600, 0}};  // 2500-01-01
  ASSERT_EQ(::utimensat(AT_FDCWD, (data() / "future.txt").c_str(), times, 0), 0);
  Response got = call("GET", "/files/future.txt");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, "from the future");
  ASSERT_NE(got.header("Last-Modified"), nullptr);
  EXPECT_NE(got.header("Last-Modified")->find(" 2262 "), std::string::npos)
      << *got.header("Last-Modified");
  EXPECT_EQ(
      call("GET", "/files/future.txt", "", {{"if-modified-since", *got.header("Last-Modified")}})
          .status,
      304);
  EXPECT_EQ(call("GET", "/files/future.txt", "", {{"if-none-match", *got.header("ETag")}}).status,
            304);
}

TEST_F(FileServiceTest, RangesAndConditionalReads) {
  ASSERT_EQ(call("PUT", "/files/r.bin", "0123456789").status, 201);
  Response part = call("GET", "/files/r.bin", "", {{"range", "bytes=2-5"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.body, "2345");
  EXPECT_EQ(*part.header("Content-Range"), "bytes 2-5/10");
  Response tail = call("GET", "/files/r.bin", "", {{"range", "bytes=-3"}});
  EXPECT_EQ(tail.body, "789");
  Response beyond = call("GET", "/files/r.bin", "", {{"range", "bytes=10-"}});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(*beyond.header("Content-Range"), "bytes */10");
  // A suffix of an empty file is the whole empty file: no Content-Range can name part of it.
  ASSERT_EQ(call("PUT", "/files/empty.bin", "").status, 201);
  Response empty = call("GET", "/files/empty.bin", "", {{"range", "bytes=-5"}});
  EXPECT_EQ(empty.status, 200);
  EXPECT_EQ(empty.header("Content-Range"), nullptr);
  EXPECT_EQ(call("GET", "/files/empty.bin", "", {{"range", "bytes=0-"}}).status, 416);
  // A HEAD ignores Range (RFC 9110 defines it for GET only): it describes the whole file.
  for (const char* range : {"bytes=2-5", "bytes=10-"}) {
    Response head = call("HEAD", "/files/r.bin", "", {{"range", range}});
    EXPECT_EQ(head.status, 200) << range;
    EXPECT_EQ(head.header("Content-Range"), nullptr) << range;
    ASSERT_TRUE(head.stream.has_value()) << range;
    EXPECT_EQ(head.stream->length, 10U) << range;
  }

  const std::string etag = *call("HEAD", "/files/r.bin").header("ETag");
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-none-match", etag}}).status, 304);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-none-match", "\"other\""}}).status, 200);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-match", "\"other\""}}).status, 412);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-match", etag}}).status, 200);
  const auto later = format_http_date(std::chrono::system_clock::now() + std::chrono::hours(1));
  const auto earlier = format_http_date(std::chrono::system_clock::now() - std::chrono::hours(1));
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-modified-since", later}}).status, 304);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-modified-since", earlier}}).status, 200);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-unmodified-since", earlier}}).status, 412);
  // Dates centuries away compare as such (they once overflowed into other times).
  const std::string ancient = "Wed, 25 Nov 1013 19:30:00 GMT";
  const std::string distant = "Sat, 25 Nov 2500 19:30:00 GMT";
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-modified-since", ancient}}).status, 200);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-unmodified-since", ancient}}).status, 412);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-modified-since", distant}}).status, 304);
  EXPECT_EQ(call("GET", "/files/r.bin", "", {{"if-unmodified-since", distant}}).status, 200);
  // A stale If-Range sends the whole file.
  Response stale =
      call("GET", "/files/r.bin", "", {{"range", "bytes=0-1"}, {"if-range", "\"old\""}});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, "0123456789");
  Response fresh = call("GET", "/files/r.bin", "", {{"range", "bytes=0-1"}, {"if-range", etag}});
  EXPECT_EQ(fresh.status, 206);
}

// An If-Range date holds only as a strong validator: for a file changed within the last second
// (a replacement within that second carries the same date, and its range would be spliced onto
// the client's old bytes) the whole file is sent; for an older file, the range.
TEST_F(FileServiceTest, AnIfRangeDateHoldsOnlyForAFileOlderThanASecond) {
  write_file(data() / "d.bin", "0123456789");
  const std::string date = *call("HEAD", "/files/d.bin").header("Last-Modified");
  Response fresh = call("GET", "/files/d.bin", "", {{"range", "bytes=0-1"}, {"if-range", date}});
  EXPECT_EQ(fresh.status, 200);
  EXPECT_EQ(fresh.body, "0123456789");

  const struct timespec hour_ago { ::time(nullptr) - 3600, 0 };
  const struct timespec times[2] = {hour_ago, hour_ago};
  ASSERT_EQ(::utimensat(AT_FDCWD, (data() / "d.bin").c_str(), times, 0), 0);
  const std::string old_date = *call("HEAD", "/files/d.bin").header("Last-Modified");
  ASSERT_NE(old_date, date);
  Response kept = call("GET", "/files/d.bin", "", {{"range", "bytes=0-1"}, {"if-range", old_date}});
  EXPECT_EQ(kept.status, 206);
  EXPECT_EQ(kept.body, "01");
}

TEST_F(FileServiceTest, ConditionalWrites) {
  EXPECT_EQ(call("PUT", "/files/c", "one", {{"if-none-match", "*"}}).status, 201);
  EXPECT_EQ(call("PUT", "/files/c", "two", {{"if-none-match", "*"}}).status, 412);
  EXPECT_EQ(read_file(data() / "c"), "one");
  const std::string etag = *call("HEAD", "/files/c").header("ETag");
  EXPECT_EQ(call("PUT", "/files/c", "three", {{"if-match", "\"nope\""}}).status, 412);
  EXPECT_EQ(call("DELETE", "/files/c", "", {{"if-match", "\"nope\""}}).status, 412);
  EXPECT_EQ(read_file(data() / "c"), "one");
  EXPECT_EQ(call("PUT", "/files/c", "four", {{"if-match", etag}}).status, 204);
  EXPECT_EQ(read_file(data() / "c"), "four");
  EXPECT_EQ(call("PUT", "/files/new", "x", {{"if-match", "*"}}).status, 412);
  EXPECT_FALSE(fs::exists(data() / "new"));
}

// If-Unmodified-Since on a PUT or DELETE, and If-None-Match on a DELETE, are evaluated as RFC 9110
// orders them (a client that locks optimistically by date must not lose an update): a file
// modified after the date is neither replaced nor removed; If-Match, when present, decides alone;
// a missing file has no date to compare, and a value that is not a date is ignored.
TEST_F(FileServiceTest, WritesHonourIfUnmodifiedSinceAndDeletesIfNoneMatch) {
  ASSERT_EQ(call("PUT", "/files/d", "one").status, 201);
  const std::string etag = *call("HEAD", "/files/d").header("ETag");
  const std::string before = "Thu, 01 Jan 1970 00:00:00 GMT";
  const std::string after = "Fri, 01 Jan 2100 00:00:00 GMT";

  EXPECT_EQ(call("PUT", "/files/d", "two", {{"if-unmodified-since", before}}).status, 412);
  EXPECT_EQ(call("DELETE", "/files/d", "", {{"if-unmodified-since", before}}).status, 412);
  EXPECT_EQ(
      call("PUT", "/files/d", "two", {{"if-unmodified-since", "Saturday, 01-Jan-77 00:00:00 GMT"}})
          .status,
      412);
  EXPECT_EQ(read_file(data() / "d"), "one");
  // If-Match decides alone when it is there.
  EXPECT_EQ(
      call("PUT", "/files/d", "two", {{"if-match", etag}, {"if-unmodified-since", before}}).status,
      204);
  EXPECT_EQ(read_file(data() / "d"), "two");
  EXPECT_EQ(call("PUT", "/files/d", "three", {{"if-unmodified-since", after}}).status, 204);
  EXPECT_EQ(call("PUT", "/files/d", "four", {{"if-unmodified-since", "not a date"}}).status, 204);
  EXPECT_EQ(call("PUT", "/files/d2", "x", {{"if-unmodified-since", before}}).status, 201);
  // The date of the version itself (Last-Modified, to the second) still holds.
  const std::string now_modified = *call("HEAD", "/files/d").header("Last-Modified");
  EXPECT_EQ(call("PUT", "/files/d", "five", {{"if-unmodified-since", now_modified}}).status, 204);

  const std::string current = *call("HEAD", "/files/d").header("ETag");
  EXPECT_EQ(call("DELETE", "/files/d", "", {{"if-none-match", "*"}}).status, 412);
  EXPECT_EQ(call("DELETE", "/files/d", "", {{"if-none-match", current}}).status, 412);
  EXPECT_EQ(call("DELETE", "/files/d", "", {{"if-none-match", "W/" + current}}).status, 412);
  EXPECT_EQ(read_file(data() / "d"), "five");
  EXPECT_EQ(call("DELETE", "/files/d", "", {{"if-none-match", "\"other\""}}).status, 204);
  EXPECT_FALSE(fs::exists(data() / "d"));
  EXPECT_EQ(call("DELETE", "/files/d2", "", {{"if-unmodified-since", after}}).status, 204);
  EXPECT_FALSE(fs::exists(data() / "d2"));
}

TEST_F(FileServiceTest, UnsafePathsAreRejectedAndWriteNothing) {
  for (const std::string& target : std::vector<std::string>{
           "/files/%2e%2e/escape", "/files/a/%2E%2E/%2e%2e/escape", "/files/../escape",
           "/files/a%00b", "/files/a//b", "/files/.efsas-temp", "/files/%zz",
           "/files/a%2f%2e%2e%2f%2e%2e%2fescape", "/files/" + std::string(300, 'n'),
           "/files/%01ctl"}) {
    Response response = call("PUT", target, "data");
    EXPECT_EQ(response.status, 400) << target;
    EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["status"], 400) << target;
    EXPECT_EQ(call("GET", target).status, 400) << target;
  }
  EXPECT_EQ(call("GET", "/files/" + std::string(20000, 'a')).status, 414);
  EXPECT_TRUE(fs::is_empty(data()));
  EXPECT_FALSE(fs::exists(dir_.path() / "escape"));
}

TEST_F(FileServiceTest, SymlinkInsideRootPointingOutsideIsRefused) {
  TempDir outside;
  write_file(outside.path() / "secret", "s");
  fs::create_directory_symlink(outside.path(), data() / "out");
  EXPECT_EQ(call("GET", "/files/out/secret").status, 400);
  EXPECT_EQ(call("PUT", "/files/out/new", "x").status, 400);
  EXPECT_FALSE(fs::exists(outside.path() / "new"));
}

TEST_F(FileServiceTest, ServiceRoutesAndMethods) {
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  // Not ready until a probe has reached the storage through one of the mount targets: a task
  // that cannot reach the file system fails its deployment instead of replacing working ones.
  const Response unproven = call("GET", "/readyz");
  EXPECT_EQ(unproven.status, 503);
  EXPECT_NE(unproven.body.find("no mount target has answered a probe yet"), std::string::npos);
  service_.table()->targets.back().status->record_probe(true, "");
  Response ready = call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(nlohmann::json::parse(ready.body)["healthy_mount_targets"], 3);
  Response targets = call("GET", "/targets");
  const auto doc = nlohmann::json::parse(targets.body);
  EXPECT_EQ(doc["generation"], 1);
  EXPECT_EQ(doc["mount_targets"].size(), 3u);
  EXPECT_EQ(doc["mount_targets"][0]["healthy"], true);
  Response metrics = call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("file_service_config_generation 1"), std::string::npos);
  EXPECT_NE(metrics.body.find(
                "file_service_mount_target_healthy{mount_target=\"fsmt-00000000000000000\""),
            std::string::npos);
  EXPECT_EQ(call("GET", "/nope").status, 404);
  Response post = call("POST", "/files/x", "y");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(*post.header("Allow"), "GET, HEAD, PUT, DELETE");
  EXPECT_EQ(call("PUT", "/healthz").status, 405);
  EXPECT_EQ(call("PUT", "/files/dir/", "x").status, 405);
  ASSERT_EQ(call("PUT", "/files/d/f", "x").status, 201);
  EXPECT_EQ(call("GET", "/files/d").status, 409);
  EXPECT_EQ(call("PUT", "/files/d", "x").status, 409);
}

TEST_F(FileServiceTest, StatusPageIsSelfContainedHtmlThatPollsTargets) {
  Response page = call("GET", "/");
  EXPECT_EQ(page.status, 200);
  ASSERT_NE(page.header("Content-Type"), nullptr);
  EXPECT_TRUE(page.header("Content-Type")->starts_with("text/html"));
  ASSERT_NE(page.header("Cache-Control"), nullptr);
  EXPECT_EQ(*page.header("Cache-Control"), "no-store");
  EXPECT_NE(page.body.find("<!doctype html>"), std::string::npos);
  EXPECT_NE(page.body.find("fetch(\"/targets\""), std::string::npos);
  // No external assets: nothing is loaded from another origin.
  EXPECT_EQ(page.body.find("http://"), std::string::npos);
  EXPECT_EQ(page.body.find("https://"), std::string::npos);
  EXPECT_EQ(page.body.find(" src="), std::string::npos);
  Response head = call("HEAD", "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.head);
  EXPECT_EQ(head.content_length(), page.body.size());
  Response post = call("POST", "/", "x");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(*post.header("Allow"), "GET, HEAD");
}

TEST_F(FileServiceTest, TargetsReportEachTargetsRequestTime) {
  const std::string first = "fsmt-00000000000000000";
  service_.metrics().record_request("/files/{path}", "GET", 200, first, 0, 5,
                                    std::chrono::milliseconds(4));
  service_.metrics().record_request("/files/{path}", "PUT", 201, first, 5, 0,
                                    std::chrono::milliseconds(6));
  service_.metrics().record_request("/healthz", "GET", 200, "", 0, 2,
                                    std::chrono::milliseconds(50));
  const auto doc = nlohmann::json::parse(call("GET", "/targets").body);
  const auto& targets = doc["mount_targets"];
  ASSERT_EQ(targets.size(), 3u);
  for (const auto& target : targets) {
    if (target["id"] == first) {
      EXPECT_EQ(target["timed_requests"], 2);
      EXPECT_NEAR(target["request_seconds_total"].get<double>(), 0.010, 1e-9);
    } else {
      EXPECT_EQ(target["timed_requests"], 0);
      EXPECT_EQ(target["request_seconds_total"].get<double>(), 0.0);
    }
  }
}

// Requests counted on many threads at once (each network thread has its own shard) add up in
// /metrics and /targets.
TEST_F(FileServiceTest, MetricsFromManyThreadsAddUp) {
  const std::string first = "fsmt-00000000000000000";
  constexpr int kThreads = 12;  // more than the shards, so some threads share one
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        service_.metrics().record_request("/files/{path}", t % 2 == 0 ? "GET" : "PUT", 200, first,
                                          1, 2, std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::string text = call("GET", "/metrics").body;
  const std::string prefix = "file_service_requests_total{route=\"/files/{path}\",method=\"";
  const std::string suffix = "\",status=\"200\",mount_target=\"" + first + "\"} ";
  const auto total = std::to_string(kThreads / 2 * kEach);
  EXPECT_NE(text.find(prefix + "GET" + suffix + total + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find(prefix + "PUT" + suffix + total + "\n"), std::string::npos) << text;
  const auto all = std::to_string(kThreads * kEach);
  EXPECT_NE(text.find("file_service_received_bytes_total " + all + "\n"), std::string::npos);
  EXPECT_NE(text.find("file_service_request_duration_seconds_count{route=\"/files/{path}\"} " +
                      all + "\n"),
            std::string::npos);
  EXPECT_EQ(service_.metrics().target_latency(first).count,
            static_cast<std::uint64_t>(kThreads * kEach));
}

// A latency sum keeps every digit: printed with six, a day of traffic (a million seconds) made
// rate(sum) / rate(count) move in steps of ten seconds.
TEST_F(FileServiceTest, ALargeLatencySumKeepsItsDigits) {
  service_.metrics().record_request("/files/{path}", "GET", 200, "fsmt-1", 0, 0,
                                    std::chrono::milliseconds(1'234'567'000));
  service_.metrics().record_request("/files/{path}", "GET", 200, "fsmt-1", 0, 0,
                                    std::chrono::milliseconds(500));
  const std::string text = call("GET", "/metrics").body;
  EXPECT_NE(text.find("file_service_request_duration_seconds_sum{route=\"/files/{path}\"} "
                      "1234567.5\n"),
            std::string::npos)
      << text;
  // Bucket bounds print as they always did: a changed `le` label is another series.
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.1", "1", "5"}) {
    EXPECT_NE(text.find(std::string("le=\"") + le + "\"}"), std::string::npos) << le;
  }
}

TEST_F(FileServiceTest, ListingPaginates) {
  for (const char* name : {"c", "a", "b"})
    ASSERT_EQ(call("PUT", std::string("/files/l/") + name, "x").status, 201);
  Response first = call("GET", "/files/l/?limit=2");
  ASSERT_EQ(first.status, 200) << first.body;
  auto doc = nlohmann::json::parse(first.body);
  ASSERT_EQ(doc["entries"].size(), 2u);
  EXPECT_EQ(doc["entries"][0]["name"], "a");
  EXPECT_EQ(doc["entries"][0]["type"], "file");
  const std::string token = doc["next_token"];
  ASSERT_FALSE(token.empty());
  doc = nlohmann::json::parse(call("GET", "/files/l/?limit=2&token=" + token).body);
  ASSERT_EQ(doc["entries"].size(), 1u);
  EXPECT_EQ(doc["entries"][0]["name"], "c");
  EXPECT_EQ(doc["next_token"], "");
  auto root = nlohmann::json::parse(call("GET", "/files/").body);
  EXPECT_EQ(root["entries"][0]["type"], "directory");
  EXPECT_EQ(call("GET", "/files/l/?limit=0").status, 400);
  EXPECT_EQ(call("GET", "/files/l/?limit=abc").status, 400);
  EXPECT_EQ(call("GET", "/files/missing/").status, 404);
  EXPECT_EQ(call("GET", "/files/%2e%2e/").status, 400);
}

TEST_F(FileServiceTest, LargeFilesStreamAndHeadHasNoBody) {
  const std::string big(200 * 1024, 'z');
  ASSERT_EQ(call("PUT", "/files/big", big).status, 201);
  Response got = call("GET", "/files/big");
  ASSERT_TRUE(got.stream.has_value());
  EXPECT_EQ(got.stream->length, big.size());
  EXPECT_GE(got.stream->reader->native_fd(), 0);
  Response part = call("GET", "/files/big", "", {{"range", "bytes=100000-"}});
  ASSERT_TRUE(part.stream.has_value());
  EXPECT_EQ(part.stream->offset, 100000u);
  EXPECT_EQ(part.stream->length, big.size() - 100000);
}

TEST_F(FileServiceTest, FailsOverWhenTheFirstTargetIsUnavailable) {
  const std::string path = "fail/over.txt";
  ASSERT_EQ(call("PUT", "/files/" + path, "v1").status, 201);
  const std::string primary = primary_for(path);
  fs::remove(dir_.path() / primary);  // the mount target's root disappears

  Response got = call("GET", "/files/" + path);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "v1");
  EXPECT_NE(*got.header("X-Mount-Target"), primary);
  Response written = call("PUT", "/files/" + path, "v2");
  EXPECT_EQ(written.status, 204);
  EXPECT_NE(*written.header("X-Mount-Target"), primary);
  EXPECT_EQ(call("DELETE", "/files/" + path).status, 204);
  EXPECT_EQ(call("GET", "/files/fail/").status, 200);

  for (const auto& entry : service_.table()->targets) {
    if (entry.target.id == primary) {
      EXPECT_GE(entry.status->failures.load(), 3u);  // GET, PUT and DELETE moved on
    }
  }
}

// With no healthy mount target left, requests try them all in ranking order (fail open): a probe
// can fail where requests do not, and the service does not refuse what it can serve. A path still
// goes first to the target it goes to when all are up. /readyz stays 200 (a load balancer would
// otherwise stop every task at once), saying "degraded", and a metric counts those requests.
TEST_F(FileServiceTest, WithNoHealthyTargetRequestsTryEveryTargetAndReadyzSaysDegraded) {
  const std::string primary = primary_for("x");
  for (const auto& entry : service_.table()->targets) {
    entry.status->record_probe(true, "");  // the task reached its storage once
    for (int i = 0; i < 3; ++i) entry.status->record_probe(false, "down");
    EXPECT_FALSE(entry.status->healthy());
  }
  const Response written = call("PUT", "/files/x", "y");
  ASSERT_EQ(written.status, 201) << written.body;
  EXPECT_EQ(*written.header("X-Mount-Target"), primary);
  EXPECT_EQ(read_file(data() / "x"), "y");
  const Response read = call("GET", "/files/x");
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, "y");
  const Response degraded = call("GET", "/readyz");
  EXPECT_EQ(degraded.status, 200);
  EXPECT_EQ(nlohmann::json::parse(degraded.body)["status"], "degraded");
  EXPECT_EQ(nlohmann::json::parse(degraded.body)["healthy_mount_targets"], 0);
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_NE(call("GET", "/metrics").body.find("\nfile_service_fail_open_requests_total 2\n"),
            std::string::npos);
  // M good probes bring a target back, and requests stop failing open.
  const auto& first = service_.table()->targets.front();
  EXPECT_FALSE(first.status->record_probe(true, ""));
  EXPECT_TRUE(first.status->record_probe(true, ""));
  EXPECT_EQ(nlohmann::json::parse(call("GET", "/readyz").body)["status"], "ready");
  const Response served = call("GET", "/files/x");
  ASSERT_EQ(served.status, 200);
  EXPECT_EQ(*served.header("X-Mount-Target"), first.target.id);
  EXPECT_NE(call("GET", "/metrics").body.find("\nfile_service_fail_open_requests_total 2\n"),
            std::string::npos);
}

// With no healthy target, and every target failing too: each is tried once, then 503 with
// Retry-After, and nothing is written.
TEST_F(FileServiceTest, NoTargetThatCanServeIs503) {
  FailingFactory down(make_error(ErrorCode::kUnavailable, "gone", true));
  service_.set_table(*build_routing_table(make_list(3, 2), nullptr, down, HealthPolicy{}));
  for (const auto& entry : service_.table()->targets) {
    for (int i = 0; i < 3; ++i) entry.status->record_probe(false, "down");
  }
  const Response read = call("GET", "/files/x");
  EXPECT_EQ(read.status, 503);
  ASSERT_NE(read.header("Retry-After"), nullptr);
  EXPECT_EQ(*read.header("Retry-After"), "1");
  EXPECT_NE(read.body.find("gone"), std::string::npos) << read.body;
  EXPECT_EQ(call("PUT", "/files/x", "y").status, 503);
  for (const auto& entry : service_.table()->targets) {
    EXPECT_EQ(entry.status->requests.load(), 2u) << entry.target.id;
  }
}

// A permission refusal is the file system's answer about the file, the same through every mount
// target: 403 at once, no other target tried, and no Retry-After (asking again will not help).
TEST_F(FileServiceTest, APermissionRefusalIs403WithoutTryingOtherTargets) {
  FailingFactory refusing(
      make_error(ErrorCode::kPermissionDenied, "nfs open /x: NFS4ERR_ACCESS", false));
  service_.set_table(*build_routing_table(make_list(3, 2), nullptr, refusing, HealthPolicy{}));
  const Response read = call("GET", "/files/x");
  EXPECT_EQ(read.status, 403);
  EXPECT_EQ(read.header("Retry-After"), nullptr);
  EXPECT_NE(read.body.find("PermissionDenied"), std::string::npos) << read.body;
  EXPECT_EQ(call("PUT", "/files/x", "y").status, 403);
  std::uint64_t tried = 0;
  for (const auto& entry : service_.table()->targets) {
    tried += entry.status->requests.load();
    EXPECT_EQ(entry.status->failures.load(), 0u) << entry.target.id;
  }
  EXPECT_EQ(tried, 2u);  // one target per request
}

// A write that gave up waiting for another writer of its name is 503 with Retry-After at once:
// every target reaches the same lock, so none other is tried (each would first take the whole
// body again), and the target is not counted as failing.
TEST_F(FileServiceTest, ANameBusyWithAnotherWriterIs503WithoutTryingOtherTargets) {
  FailingFactory busy(name_busy("x"));
  service_.set_table(*build_routing_table(make_list(3, 2), nullptr, busy, HealthPolicy{}));
  const Response response = call("PUT", "/files/x", "y");
  EXPECT_EQ(response.status, 503);
  ASSERT_NE(response.header("Retry-After"), nullptr);
  std::uint64_t tried = 0;
  for (const auto& entry : service_.table()->targets) {
    tried += entry.status->requests.load();
    EXPECT_EQ(entry.status->failures.load(), 0u) << entry.target.id;
  }
  EXPECT_EQ(tried, 1u);
}

// A lock on a name held by another is waited for until its deadline, then given up (an empty
// hold); once released it is taken at once.
TEST(NameLocksTest, AWaitForAHeldNameEndsAtItsDeadline) {
  NameLocks locks;
  auto first = locks.lock("a");
  ASSERT_TRUE(first.held());
  const auto started = std::chrono::steady_clock::now();
  auto refused = locks.lock("a", started + std::chrono::milliseconds(50));
  EXPECT_FALSE(refused.held());
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(50));
  EXPECT_TRUE(locks.lock("b", started).held());  // other names are free
  first = NameLocks::Hold();
  EXPECT_TRUE(locks.lock("a", std::chrono::steady_clock::now()).held());
}

TEST_F(FileServiceTest, BackEndErrorsMapToStatuses) {
  FailingFactory full(make_error(ErrorCode::kResourceExhausted, "No space left on device", true));
  service_.set_table(*build_routing_table(make_list(2, 2), nullptr, full, HealthPolicy{}));
  Response response = call("PUT", "/files/x", "y");
  EXPECT_EQ(response.status, 507);
  EXPECT_EQ(nlohmann::json::parse(response.body)["error"]["code"], "ResourceExhausted");

  FailingFactory down(make_error(ErrorCode::kUnavailable, "gone", true));
  service_.set_table(*build_routing_table(make_list(2, 3), nullptr, down, HealthPolicy{}));
  EXPECT_EQ(call("GET", "/files/x").status, 503);
  EXPECT_EQ(call("PUT", "/files/x", "y").status, 503);
  EXPECT_EQ(nlohmann::json::parse(call("GET", "/targets").body)["generation"], 3);

  // A write whose final step got no answer may have happened: unknown (504), not "nothing
  // written" (503), and not tried again on another mount target.
  FailingFactory unknown(make_error(ErrorCode::kTimeout, "rename: timed out", false));
  service_.set_table(*build_routing_table(make_list(2, 4), nullptr, unknown, HealthPolicy{}));
  for (const Response& answer : {call("PUT", "/files/x", "y"), call("DELETE", "/files/x")}) {
    EXPECT_EQ(answer.status, 504);
    const auto body = nlohmann::json::parse(answer.body);
    EXPECT_EQ(body["error"]["status"], 504);  // the body says what the status line says
    EXPECT_NE(body["error"]["message"].get<std::string>().find("outcome is unknown"),
              std::string::npos);
  }
  EXPECT_EQ(call("GET", "/files/x").status, 503);  // a read changes nothing: another may serve
}

TEST_F(FileServiceTest, ReloadKeepsStatusOfTargetsThatStay) {
  const auto before = service_.table();
  for (int i = 0; i < 3; ++i) before->targets[0].status->record_probe(false, "x");
  auto next = build_routing_table(make_list(2, 2), before.get(), *factory_, HealthPolicy{});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)->targets.size(), 2u);
  EXPECT_EQ((*next)->targets[0].status, before->targets[0].status);
  EXPECT_FALSE((*next)->targets[0].status->healthy());

  MountTargetList with_creating = make_list(3, 3);
  with_creating.mount_targets[2].state = "creating";
  auto filtered = build_routing_table(with_creating, nullptr, *factory_, HealthPolicy{});
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ((*filtered)->targets.size(), 2u);
}

}  // namespace
}  // namespace efsas::service
