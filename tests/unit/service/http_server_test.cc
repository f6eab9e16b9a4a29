// The HTTP server in-process over a back end whose calls can be made to hang: the event loop
// keeps answering other requests, the hung one gets 504 after the request timeout, and shutdown
// still finishes.
#include "efsas/service/http_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "efsas/testing/process.h"
#include "mount_target_lists.h"

namespace efsas::service {
namespace {

// How long one exchange may take: longer than the server's request timeout of 3 s.
constexpr std::chrono::seconds kTimeout{10};

// A server on a free loopback port with one network thread (what must not stall), `workers`
// workers and no access log.
ServerOptions one_loop_options(int workers) {
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  options.worker_threads = workers;
  options.access_log = false;
  return options;
}

// Every open() blocks until released, like a file system whose server stopped answering.
class HangingBackend final : public Backend {
 public:
  HangingBackend(MountTarget target, bool local) : target_(std::move(target)), local_(local) {}
  const MountTarget& target() const override { return target_; }
  bool local() const override { return local_; }
  Result<PutResult> put(std::string_view, BodySource&, const WriteCondition&) override {
    return hang();
  }
  Result<std::shared_ptr<FileReader>> open(std::string_view) override { return hang(); }
  Result<FileInfo> stat(std::string_view) override { return hang(); }
  Status remove(std::string_view, const WriteCondition&) override { return hang(); }
  Result<ListPage> list(std::string_view, std::size_t, std::string_view) override { return hang(); }
  Status make_directories(std::string_view) override { return hang(); }
  Status probe() override { return {}; }
  Result<std::size_t> sweep_temp_files(std::string_view, SystemTime, std::size_t) override {
    return std::size_t{0};
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    cv_.notify_all();
  }
  // Whether a call is hanging within `timeout`: the request has reached the back end.
  bool wait_until_hung(std::chrono::milliseconds timeout = kTimeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return hanging_ > 0; });
  }

 private:
  Error hang() {
    std::unique_lock lock(mutex_);
    ++hanging_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    --hanging_;
    return make_error(ErrorCode::kUnavailable, "released");
  }
  MountTarget target_;
  bool local_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool released_ = false;
  int hanging_ = 0;
};

class HangingFactory final : public BackendFactory {
 public:
  explicit HangingFactory(bool local) : local_(local) {}
  Result<std::shared_ptr<Backend>> create(const MountTarget& target) override {
    backend = std::make_shared<HangingBackend>(target, local_);
    return std::shared_ptr<Backend>(backend);
  }
  std::shared_ptr<HangingBackend> backend;

 private:
  bool local_;
};

// A server on a free loopback port over one back end whose calls hang until release().
struct HangingServer {
  HangingServer(bool local_backend, int workers, std::chrono::milliseconds request_timeout,
                bool inline_local_io = true)
      : factory(local_backend), service(ServiceOptions{}, std::make_shared<RealClock>(), Logger()) {
    service.set_table(*build_routing_table(make_list(1, 1), nullptr, factory, HealthPolicy{}));
    ServerOptions options = one_loop_options(workers);
    options.request_timeout = request_timeout;
    options.inline_local_io = inline_local_io;
    server = std::make_unique<HttpServer>(options, service, Logger());
  }

  // A GET whose back-end call hangs; its raw answer once it comes.
  std::future<std::string> hung_get() const {
    return std::async(std::launch::async, [port = server->port()] {
      return efsas::testing::raw_exchange(port, "GET /files/slow HTTP/1.1\r\nHost: x\r\n\r\n",
                                          kTimeout);
    });
  }

  // Lets the hung call return and stops the server.
  void stop() {
    factory.backend->release();
    server->shutdown(std::chrono::seconds(2));
    server->wait();
  }

  HangingFactory factory;
  FileService service;
  std::unique_ptr<HttpServer> server;
};

// A file on network storage whose reader takes long to close, as an NFS CLOSE to a slow or hung
// mount target does: 2 MiB of zeros; the destructor waits until the test lets it go (3 s at most).
class SlowCloseReader final : public FileReader {
 public:
  explicit SlowCloseReader(std::shared_future<void> closed) : closed_(std::move(closed)) {
    info_.size = 2 << 20;
    info_.etag = "\"slow\"";
  }
  ~SlowCloseReader() override {
    ++closings;
    closed_.wait_for(std::chrono::seconds(3));
  }
  // Readers whose closing has begun, in the whole test binary.
  static inline std::atomic<int> closings{0};
  const FileInfo& info() const override { return info_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<char> buffer) override {
    const auto n = static_cast<std::size_t>(
        std::min<std::uint64_t>(buffer.size(), offset < info_.size ? info_.size - offset : 0));
    std::fill_n(buffer.data(), n, '\0');
    return n;
  }

 private:
  std::shared_future<void> closed_;
  FileInfo info_;
};

class SlowCloseBackend final : public Backend {
 public:
  // With `opened`, an open waits for it first (a target slower than the request timeout).
  SlowCloseBackend(MountTarget target, std::shared_future<void> closed,
                   std::shared_future<void> opened = {})
      : target_(std::move(target)), closed_(std::move(closed)), opened_(std::move(opened)) {}
  const MountTarget& target() const override { return target_; }
  bool local() const override { return false; }
  Result<PutResult> put(std::string_view, BodySource&, const WriteCondition&) override {
    return unused();
  }
  Result<std::shared_ptr<FileReader>> open(std::string_view) override {
    if (opened_.valid()) opened_.wait();
    return std::shared_ptr<FileReader>(std::make_shared<SlowCloseReader>(closed_));
  }
  Result<FileInfo> stat(std::string_view) override { return unused(); }
  Status remove(std::string_view, const WriteCondition&) override { return unused(); }
  Result<ListPage> list(std::string_view, std::size_t, std::string_view) override {
    return unused();
  }
  Status make_directories(std::string_view) override { return unused(); }
  Status probe() override { return {}; }
  Result<std::size_t> sweep_temp_files(std::string_view, SystemTime, std::size_t) override {
    return std::size_t{0};
  }

 private:
  static Error unused() { return make_error(ErrorCode::kUnavailable, "not in this test"); }
  MountTarget target_;
  std::shared_future<void> closed_;
  std::shared_future<void> opened_;
};

class SlowCloseFactory final : public BackendFactory {
 public:
  explicit SlowCloseFactory(std::shared_future<void> closed, std::shared_future<void> opened = {})
      : closed_(std::move(closed)), opened_(std::move(opened)) {}
  Result<std::shared_ptr<Backend>> create(const MountTarget& target) override {
    return std::shared_ptr<Backend>(std::make_shared<SlowCloseBackend>(target, closed_, opened_));
  }

 private:
  std::shared_future<void> closed_;
  std::shared_future<void> opened_;
};

// Waits until a SlowCloseReader's close has begun since `before` closings; false after 10 s.
bool wait_for_closing(int before) {
  for (int i = 0; i < 1000 && SlowCloseReader::closings.load() == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return SlowCloseReader::closings.load() > before;
}

// A read answered 504 (its target slower than REQUEST_TIMEOUT_MS) whose open comes back later:
// the late answer's reader, on network storage, is closed by a worker, and the only network
// thread goes on answering meanwhile.
TEST(HttpServer, ALateAnswerAfterA504IsClosedOffTheNetworkThread) {
  std::promise<void> open;
  std::promise<void> close;
  SlowCloseFactory factory(close.get_future().share(), open.get_future().share());
  FileService service(ServiceOptions{}, std::make_shared<RealClock>(), Logger());
  service.set_table(*build_routing_table(make_list(1, 1), nullptr, factory, HealthPolicy{}));
  ServerOptions options = one_loop_options(2);
  options.request_timeout = std::chrono::milliseconds(300);
  HttpServer server(options, service, Logger());
  ASSERT_TRUE(server.start().ok());
  const std::string late = efsas::testing::raw_exchange(
      server.port(), "GET /files/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", kTimeout);
  EXPECT_TRUE(late.starts_with("HTTP/1.1 504")) << late;
  const int before = SlowCloseReader::closings.load();
  open.set_value();  // the open returns now, long after the 504
  ASSERT_TRUE(wait_for_closing(before)) << "the late reader was never let go of";
  const auto started = std::chrono::steady_clock::now();
  const std::string health = efsas::testing::raw_exchange(
      server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", kTimeout);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << health;
  EXPECT_LT(took, std::chrono::milliseconds(1000)) << "the health check waited for the close";
  close.set_value();
  server.shutdown(std::chrono::seconds(2));
  server.wait();
}

// Letting go of a file read from network storage never stalls the network thread: after a GET
// and a HEAD of a file whose reader takes long to close, the same (only) network thread answers a
// health check at once.
TEST(HttpServer, ClosingAFileOnNetworkStorageNeverStallsTheNetworkThread) {
  for (const char* method : {"GET", "HEAD"}) {
    std::promise<void> close;
    SlowCloseFactory factory(close.get_future().share());
    FileService service(ServiceOptions{}, std::make_shared<RealClock>(), Logger());
    service.set_table(*build_routing_table(make_list(1, 1), nullptr, factory, HealthPolicy{}));
    HttpServer server(one_loop_options(2), service, Logger());
    ASSERT_TRUE(server.start().ok());
    const int before = SlowCloseReader::closings.load();
    auto file = std::async(std::launch::async, [port = server.port(), method] {
      return efsas::testing::raw_exchange(
          port,
          std::string(method) + " /files/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
          kTimeout);
    });
    // Sent, and the reader let go: its close is under way (and waits for the test).
    ASSERT_TRUE(wait_for_closing(before)) << method << ": the reader never closed";
    const auto started = std::chrono::steady_clock::now();
    const std::string health = efsas::testing::raw_exchange(
        server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", kTimeout);
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << method << ": " << health;
    EXPECT_LT(took, std::chrono::milliseconds(1000)) << method << ": the health check waited";
    close.set_value();
    const std::string answer = file.get();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << method << ": " << answer.substr(0, 200);
    server.shutdown(std::chrono::seconds(2));
    server.wait();
  }
}

// Starts a server over one hanging back end, sends a request that hangs and checks that the loop
// keeps answering meanwhile and that the hung request gets 504 after the request timeout.
void expect_hung_request_times_out_while_loop_answers(bool local_backend, bool inline_local_io) {
  HangingServer s(local_backend, 2, std::chrono::seconds(3), inline_local_io);
  ASSERT_TRUE(s.server->start().ok());
  const int port = s.server->port();
  auto hung = s.hung_get();
  ASSERT_TRUE(s.factory.backend->wait_until_hung());
  // Meanwhile the loop keeps answering: every health check returns while the hung request is
  // still waiting for its timeout.
  for (int i = 0; i < 5; ++i) {
    const std::string health = efsas::testing::raw_exchange(
        port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", kTimeout);
    EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << health;
  }
  EXPECT_EQ(hung.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  const std::string timed_out = hung.get();
  EXPECT_TRUE(timed_out.starts_with("HTTP/1.1 504")) << timed_out;
  EXPECT_NE(timed_out.find("\"Timeout\""), std::string::npos);

  s.stop();
}

TEST(HttpServer, HungBackEndNeverBlocksOtherRequests) {
  expect_hung_request_times_out_while_loop_answers(/*local_backend=*/false,
                                                   /*inline_local_io=*/true);
}

// Turning inline I/O off puts even a local back end's calls on the worker pool.
TEST(HttpServer, WithInlineIoOffALocalBackEndIsHandledOnTheWorkerPool) {
  expect_hung_request_times_out_while_loop_answers(/*local_backend=*/true,
                                                   /*inline_local_io=*/false);
}

// A listing goes to the worker pool even over local storage (reading and sorting a directory of a
// million names takes long), however its target names it: "/files", with a query, or with a
// percent-encoded final slash, which the service decodes into a listing too. With the only
// network thread free, a health check answers while the listing waits on its (hung) back end.
TEST(HttpServer, EveryFormOfAListingIsHandledOnTheWorkerPool) {
  for (const char* target : {"/files", "/files?limit=5", "/files/docs%2F", "/files/docs%2f"}) {
    HangingServer s(/*local_backend=*/true, 1, std::chrono::milliseconds(1500));
    ASSERT_TRUE(s.server->start().ok());
    const int port = s.server->port();
    auto listing = std::async(std::launch::async, [port, target] {
      return efsas::testing::raw_exchange(
          port, std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n", kTimeout);
    });
    ASSERT_TRUE(s.factory.backend->wait_until_hung()) << target;
    const auto started = std::chrono::steady_clock::now();
    const std::string health = efsas::testing::raw_exchange(
        port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", kTimeout);
    EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << target << ": " << health;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1)) << target;
    const std::string answer = listing.get();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 504")) << target << ": " << answer;
    s.stop();
  }
}

// A request target in absolute form is served as the path it names (RFC 9112 3.2.2), and goes
// where that path goes: here a file read over network storage, to the worker pool.
TEST(HttpServer, AnAbsoluteFormTargetIsServedAsItsPath) {
  HangingServer s(/*local_backend=*/false, 1, std::chrono::milliseconds(1000));
  ASSERT_TRUE(s.server->start().ok());
  const int port = s.server->port();
  const std::string health = efsas::testing::raw_exchange(
      port, "GET http://127.0.0.1/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      kTimeout);
  EXPECT_TRUE(health.starts_with("HTTP/1.1 200")) << health;
  const std::string file = efsas::testing::raw_exchange(
      port, "GET http://x/files/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", kTimeout);
  EXPECT_TRUE(file.starts_with("HTTP/1.1 504")) << file;
  s.stop();
}

// The routes that read memory only are answered on the network thread, whatever the storage:
// with the only worker held by a hung back-end call, health checks, metrics and the routing table
// still answer at once, not with a 504 after the request timeout (a load balancer would take the
// task for dead). So are requests under /files refused before any storage is touched.
TEST(HttpServer, OperationalRoutesNeverWaitForTheWorkerPool) {
  HangingServer s(/*local_backend=*/false, 1, std::chrono::seconds(3));
  ASSERT_TRUE(s.server->start().ok());
  const int port = s.server->port();
  auto hung = s.hung_get();
  ASSERT_TRUE(s.factory.backend->wait_until_hung());  // the only worker holds it
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET /healthz", "200"},   {"GET /readyz", "503"},  // no probe has run here
      {"GET /metrics", "200"},   {"GET /targets", "200"},
      {"GET /", "200"},          {"GET /files/../b", "400"},
      {"GET /files/%zz", "400"}, {"POST /files/a", "405"},
      {"PUT /files/", "405"},    {"DELETE /files/.efsas-put-1", "400"},
  };
  for (const auto& [request, status] : cases) {
    const auto started = std::chrono::steady_clock::now();
    const std::string answer = efsas::testing::raw_exchange(
        port, request + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        kTimeout);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 " + status)) << request << ": " << answer;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1)) << request;
  }
  EXPECT_EQ(hung.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_TRUE(hung.get().starts_with("HTTP/1.1 504"));

  s.stop();
}

// A worker blocked in a back-end call (a hung mount) does not hold wait() past the grace period:
// the process can exit. The worker is left running until its call returns; the destructor waits
// for it.
TEST(HttpServer, WaitReturnsAfterTheGracePeriodWhileAWorkerIsBlocked) {
  HangingServer s(/*local_backend=*/false, 1, std::chrono::milliseconds(500));
  ASSERT_TRUE(s.server->start().ok());
  const std::string timed_out = s.hung_get().get();
  EXPECT_TRUE(timed_out.starts_with("HTTP/1.1 504")) << timed_out;

  // The back-end call ends after 5 s, long after the grace period.
  auto release = std::async(std::launch::async, [&s] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    s.factory.backend->release();
  });
  const auto started = std::chrono::steady_clock::now();
  s.server->shutdown(std::chrono::milliseconds(300));
  s.server->wait();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  release.get();
  s.server.reset();
}

}  // namespace
}  // namespace efsas::service
