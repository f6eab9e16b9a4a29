// The reloader (new generations applied, older ones and bad documents ignored, outages keep the
// last good list) and the health checker (K failures down, M successes up, a hung probe counts as
// failed without piling up threads), with a scripted list source and scripted back ends.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "efsas/service/config_reload.h"
#include "efsas/service/health_checker.h"
#include "mount_target_lists.h"

namespace efsas::service {
namespace {

class ScriptedSource final : public ListSource {
 public:
  Result<std::string> fetch() override {
    std::lock_guard lock(mutex_);
    return next_;
  }
  std::string describe() const override { return "scripted"; }
  void set(Result<std::string> next) {
    std::lock_guard lock(mutex_);
    next_ = std::move(next);
  }

 private:
  std::mutex mutex_;
  Result<std::string> next_{std::string()};
};

// A back end whose probe result the test controls; a probe can also be made to hang.
class ProbeBackend final : public Backend {
 public:
  explicit ProbeBackend(MountTarget target) : target_(std::move(target)) {}
  ~ProbeBackend() override {
    if (on_destroy) on_destroy();
  }
  std::function<void()> on_destroy;
  const MountTarget& target() const override { return target_; }
  Result<PutResult> put(std::string_view, BodySource&, const WriteCondition&) override {
    return unused();
  }
  Result<std::shared_ptr<FileReader>> open(std::string_view) override { return unused(); }
  Result<FileInfo> stat(std::string_view) override { return unused(); }
  Status remove(std::string_view, const WriteCondition&) override { return unused(); }
  Result<ListPage> list(std::string_view, std::size_t, std::string_view) override {
    return unused();
  }
  Status make_directories(std::string_view) override { return unused(); }
  Result<std::size_t> sweep_temp_files(std::string_view, SystemTime, std::size_t) override {
    sweeps.fetch_add(1);
    if (sweep_fails.load()) return make_error(ErrorCode::kIo, "sweep failed");
    return std::size_t{1};
  }
  Status probe() override {
    probes_started.fetch_add(1);
    std::unique_lock lock(mutex_);
    released_.wait(lock, [this] { return !hang_; });
    if (fail_) return make_error(ErrorCode::kIo, "probe failed");
    return {};
  }
  void set(bool fail, bool hang) {
    {
      std::lock_guard lock(mutex_);
      fail_ = fail;
      hang_ = hang;
    }
    released_.notify_all();
  }
  std::atomic<int> probes_started{0};
  std::atomic<int> sweeps{0};
  std::atomic<bool> sweep_fails{false};

 private:
  static Error unused() { return make_error(ErrorCode::kInternal, "not used here"); }
  MountTarget target_;
  std::mutex mutex_;
  std::condition_variable released_;
  bool fail_ = false;
  bool hang_ = false;
};

// Threads on which back ends were destroyed.
struct Destructions {
  std::mutex mutex;
  std::vector<std::thread::id> threads;
  std::vector<std::thread::id> list() {
    std::lock_guard lock(mutex);
    return threads;
  }
};

class ProbeFactory final : public BackendFactory {
 public:
  Result<std::shared_ptr<Backend>> create(const MountTarget& target) override {
    auto backend = std::make_shared<ProbeBackend>(target);
    backend->on_destroy = [destructions = destructions] {
      std::lock_guard lock(destructions->mutex);
      destructions->threads.push_back(std::this_thread::get_id());
    };
    if (keep) created.push_back(backend);
    return std::shared_ptr<Backend>(backend);
  }
  bool keep = true;  // whether `created` holds every back end made
  std::vector<std::shared_ptr<ProbeBackend>> created;
  std::shared_ptr<Destructions> destructions = std::make_shared<Destructions>();
};

class ReloadHealthTest : public ::testing::Test {
 protected:
  ReloadHealthTest() {
    auto source = std::make_unique<ScriptedSource>();
    source_ = source.get();
    reloader_ = std::make_unique<ConfigReloader>(std::move(source), factory_, HealthPolicy{3, 2},
                                                 service_, Logger());
  }
  std::string doc(int count, std::uint64_t generation) {
    return *serialize_mount_target_list(make_list(count, generation));
  }

  FileService service_{ServiceOptions{}, std::make_shared<RealClock>(), Logger()};
  std::shared_ptr<ProbeFactory> factory_ = std::make_shared<ProbeFactory>();
  ScriptedSource* source_ = nullptr;
  std::unique_ptr<ConfigReloader> reloader_;
};

TEST_F(ReloadHealthTest, AppliesNewerGenerationsOnly) {
  source_->set(doc(3, 5));
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  EXPECT_EQ(service_.table()->list.generation, 5u);
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kUnchanged);
  // Other content under the same generation is not taken: readers agree on a generation's content,
  // and only a writer that raises the generation changes it.
  source_->set(doc(2, 5));
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kUnchanged);
  EXPECT_EQ(service_.table()->targets.size(), 3u);

  source_->set(doc(2, 4));
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kStale);
  EXPECT_EQ(service_.table()->targets.size(), 3u);

  const auto before = service_.table();
  source_->set(doc(2, 6));
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  EXPECT_EQ(service_.table()->targets.size(), 2u);
  // Targets that stay keep their back end; the old table stays valid for requests holding it.
  EXPECT_EQ(service_.table()->targets[0].backend, before->targets[0].backend);
  EXPECT_EQ(before->targets.size(), 3u);
  EXPECT_EQ(service_.metrics().reloads(), 2u);
}

TEST_F(ReloadHealthTest, BadDocumentsAndOutagesKeepTheLastGoodList) {
  source_->set(doc(3, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  source_->set(std::string("{\"schema_version\": 99}"));
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kFailed);
  source_->set(make_error(ErrorCode::kUnavailable, "parameter store down", true));
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kFailed);
  std::string too_big = doc(3, 2);
  too_big.insert(too_big.size() - 1, std::string(5000, ' '));
  source_->set(too_big);
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kFailed);
  EXPECT_EQ(service_.table()->list.generation, 1u);
  EXPECT_EQ(service_.metrics().reload_failures(), 3u);
}

// An outage of the source that lasts is not a warning every poll: one when it begins, then at its
// 2nd, 4th, 8th poll in a row, and one line when it ends. Another problem starts its own count.
TEST_F(ReloadHealthTest, AProblemThatLastsIsLoggedWhenItBeginsLessOftenAfterAndWhenItEnds) {
  auto sink = std::make_shared<MemorySink>();
  auto source = std::make_unique<ScriptedSource>();
  ScriptedSource* scripted = source.get();
  ConfigReloader reloader(std::move(source), factory_, HealthPolicy{3, 2}, service_,
                          Logger(sink, LogLevel::kInfo, std::make_shared<RealClock>()));
  const auto count = [&](std::string_view level, std::string_view message) {
    int n = 0;
    for (const auto& line : sink->lines()) {
      const auto j = nlohmann::json::parse(line);
      n += j.value("level", "") == level && j.value("message", "") == message ? 1 : 0;
    }
    return n;
  };
  constexpr std::string_view kKept = "mount-target list not applied; keeping the last good list";
  constexpr std::string_view kOver = "mount-target list polls are back to normal";
  scripted->set(doc(2, 3));
  ASSERT_EQ(reloader.reload_once(), ReloadOutcome::kApplied);
  for (int i = 0; i < 9; ++i) {
    // Each failure with a message of its own, as AWS errors carry request ids.
    scripted->set(make_error(ErrorCode::kUnavailable, "throttled " + std::to_string(i), true));
    EXPECT_EQ(reloader.reload_once(), ReloadOutcome::kFailed);
  }
  EXPECT_EQ(count("warn", kKept), 4);  // polls 1, 2, 4 and 8
  EXPECT_EQ(service_.metrics().reload_failures(), 9u);
  EXPECT_EQ(count("info", kOver), 0);
  scripted->set(doc(2, 3));
  EXPECT_EQ(reloader.reload_once(), ReloadOutcome::kUnchanged);
  EXPECT_EQ(count("info", kOver), 1);
  EXPECT_EQ(reloader.reload_once(), ReloadOutcome::kUnchanged);
  EXPECT_EQ(count("info", kOver), 1);
  // A stale document is another problem: a warning at once.
  scripted->set(doc(2, 1));
  EXPECT_EQ(reloader.reload_once(), ReloadOutcome::kStale);
  EXPECT_EQ(reloader.reload_once(), ReloadOutcome::kStale);
  EXPECT_EQ(reloader.reload_once(), ReloadOutcome::kStale);
  EXPECT_EQ(count("warn", "ignoring an older mount-target list"), 2);
}

// With a list in place the loop waits its whole interval (an hour here); a trigger (SIGHUP) makes
// it ask the source at once.
TEST_F(ReloadHealthTest, TriggerReloadsAtOnce) {
  source_->set(doc(1, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  source_->set(doc(1, 2));
  reloader_->start(std::chrono::hours(1));
  reloader_->trigger();
  for (int i = 0; i < 500 && service_.table()->list.generation != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reloader_->stop();
  EXPECT_EQ(service_.table()->list.generation, 2u) << "not reloaded within 5 s of the trigger";
}

// Until the first list is in place every file request is 503 (with Retry-After): the source is
// asked again after a second, not after the poll interval, here an hour.
TEST_F(ReloadHealthTest, AFirstListThatFailsIsAskedForAgainSoon) {
  source_->set(make_error(ErrorCode::kUnavailable, "throttled", true));
  EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kFailed);
  Request request;
  request.method = "GET";
  request.target = "/files/a";
  const Response refused = service_.handle_request(request);
  EXPECT_EQ(refused.status, 503);
  ASSERT_NE(refused.header("Retry-After"), nullptr);
  reloader_->start(std::chrono::hours(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  source_->set(doc(1, 1));
  for (int i = 0; i < 500 && !service_.table(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reloader_->stop();
  ASSERT_NE(service_.table(), nullptr) << "not asked again within 5 s";
  EXPECT_EQ(service_.table()->list.generation, 1u);
}

TEST_F(ReloadHealthTest, ProbesMoveTargetsDownAndUp) {
  source_->set(doc(2, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  HealthCheckOptions options;
  options.timeout = std::chrono::milliseconds(200);
  HealthChecker checker(service_, options, Logger());
  const auto& status = *service_.table()->targets[0].status;
  factory_->created[0]->set(/*fail=*/true, /*hang=*/false);
  checker.check_once();
  checker.check_once();
  EXPECT_TRUE(status.healthy());  // K = 3
  checker.check_once();
  EXPECT_FALSE(status.healthy());
  EXPECT_TRUE(service_.table()->targets[1].status->healthy());
  factory_->created[0]->set(false, false);
  checker.check_once();
  EXPECT_FALSE(status.healthy());  // M = 2
  checker.check_once();
  EXPECT_TRUE(status.healthy());
}

TEST_F(ReloadHealthTest, HungProbeCountsAsFailedWithoutPilingUp) {
  source_->set(doc(1, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  HealthCheckOptions options;
  options.timeout = std::chrono::milliseconds(50);
  HealthChecker checker(service_, options, Logger());
  auto backend = factory_->created[0];
  backend->set(false, /*hang=*/true);
  for (int i = 0; i < 4; ++i) checker.check_once();
  EXPECT_FALSE(service_.table()->targets[0].status->healthy());
  EXPECT_EQ(backend->probes_started.load(), 1);  // one stuck probe, not four
  backend->set(false, false);
  for (int i = 0; i < 20 && !service_.table()->targets[0].status->healthy(); ++i) {
    checker.check_once();
  }
  EXPECT_TRUE(service_.table()->targets[0].status->healthy());
}

// A target whose probe hangs is dropped from the list: the rounds forget that probe, and the
// targets listed after it are each probed on their own and stay up. (Probes in flight were once
// kept by the address of the target's status, which a later target's status could take; that
// target then waited on the old probe and went down without ever being probed.)
TEST_F(ReloadHealthTest, TargetsListedAfterOneWithAHungProbeAreEachProbed) {
  source_->set(doc(1, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  HealthCheckOptions options;
  options.timeout = std::chrono::milliseconds(1000);  // a round waits only for a hung probe
  HealthChecker checker(service_, options, Logger());
  auto hung = factory_->created[0];
  hung->set(false, /*hang=*/true);
  checker.check_once();
  for (std::uint64_t generation = 2; generation <= 8; ++generation) {
    MountTargetList list = make_list(1, generation);
    list.mount_targets[0].ip_address = "10.0.9." + std::to_string(generation);
    source_->set(*serialize_mount_target_list(list));
    ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
    const auto fresh = factory_->created.back();
    for (int i = 0; i < 4; ++i) checker.check_once();
    EXPECT_EQ(fresh->probes_started.load(), 4) << "generation " << generation;
    EXPECT_TRUE(service_.table()->targets[0].status->healthy()) << "generation " << generation;
  }
  hung->set(false, false);
}

// The log says once when no target is left healthy (requests then fail open) and once when one
// is healthy again, also when a reload, not a probe, leaves only targets that are down.
TEST_F(ReloadHealthTest, TheLogSaysWhenNoTargetIsHealthyAndWhenOneIsAgain) {
  auto sink = std::make_shared<MemorySink>();
  source_->set(doc(2, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  HealthCheckOptions options;
  options.timeout = std::chrono::milliseconds(200);
  HealthChecker checker(service_, options,
                        Logger(sink, LogLevel::kInfo, std::make_shared<RealClock>()));
  const auto count = [&](std::string_view message) {
    int n = 0;
    for (const auto& line : sink->lines()) {
      n += nlohmann::json::parse(line).value("message", "") == message ? 1 : 0;
    }
    return n;
  };
  constexpr std::string_view kNone =
      "no mount target is healthy: requests try every one (fail open)";
  constexpr std::string_view kAgain =
      "a mount target is healthy again: requests go to healthy targets only";
  factory_->created[0]->set(/*fail=*/true, false);
  for (int i = 0; i < 4; ++i) checker.check_once();
  EXPECT_FALSE(service_.table()->targets[0].status->healthy());
  EXPECT_EQ(count(kNone), 0);
  // Generation 2 keeps only the target that is down.
  source_->set(doc(1, 2));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  checker.check_once();
  checker.check_once();
  EXPECT_EQ(count(kNone), 1);
  factory_->created[0]->set(false, false);
  checker.check_once();
  checker.check_once();
  checker.check_once();
  EXPECT_TRUE(service_.table()->targets[0].status->healthy());
  EXPECT_EQ(count(kAgain), 1);
  EXPECT_EQ(count(kNone), 1);
  // A list with no available target says nothing either way: no target is healthy again.
  factory_->created[0]->set(true, false);
  for (int i = 0; i < 3; ++i) checker.check_once();
  EXPECT_EQ(count(kNone), 2);
  source_->set(doc(0, 3));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  checker.check_once();
  EXPECT_EQ(count(kAgain), 1);
}

// A table a reload replaced is let go on the reloading thread, not by the last request that held
// it: letting go destroys the back ends of the targets that left, and an NFS back end waits for
// its keep-alive call then, which must not stall a network thread.
TEST_F(ReloadHealthTest, AReplacedTableIsLetGoOnTheReloadThreadNotByItsLastUser) {
  factory_->keep = false;
  source_->set(doc(2, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  std::shared_ptr<const RoutingTable> held = service_.table();  // a request in flight
  source_->set(doc(1, 2));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  std::thread([&] { held.reset(); }).join();  // the request ends
  EXPECT_TRUE(factory_->destructions->list().empty());
  std::thread::id reload_thread;
  std::thread([&] {
    reload_thread = std::this_thread::get_id();
    EXPECT_EQ(reloader_->reload_once(), ReloadOutcome::kUnchanged);
  }).join();
  const auto destroyed = factory_->destructions->list();
  ASSERT_EQ(destroyed.size(), 1u);
  EXPECT_EQ(destroyed[0], reload_thread);
}

// A list file is read only as far as the document limit: one that never ends is refused, and the
// last good list stays.
TEST(FileListSource, AFileThatNeverEndsIsRefusedWithoutReadingItWhole) {
  auto source = make_file_list_source("/dev/zero");
  const auto document = source->fetch();
  ASSERT_TRUE(document.ok()) << document.error().to_string();
  EXPECT_EQ(document->size(), MountTargetList::kMaxDocumentBytes + 1);
  EXPECT_FALSE(parse_mount_target_list(*document).ok());
}

// Every mount target shows the same file system: a sweep walks it once, through one healthy
// target, taking turns; a target that is down is left out, and a walk that fails moves on.
TEST_F(ReloadHealthTest, SweepWalksTheFileSystemOnceThroughAHealthyTarget) {
  source_->set(doc(3, 1));
  ASSERT_EQ(reloader_->reload_once(), ReloadOutcome::kApplied);
  HealthCheckOptions options;
  options.timeout = std::chrono::milliseconds(200);
  HealthChecker checker(service_, options, Logger());
  const auto& backends = factory_->created;
  ASSERT_EQ(backends.size(), 3u);
  for (int pass = 0; pass < 3; ++pass) EXPECT_EQ(checker.sweep_once(), 1u);
  for (const auto& backend : backends) EXPECT_EQ(backend->sweeps.load(), 1);

  backends[0]->set(/*fail=*/true, /*hang=*/false);
  for (int i = 0; i < 3; ++i) checker.check_once();
  ASSERT_FALSE(service_.table()->targets[0].status->healthy());
  for (int pass = 0; pass < 4; ++pass) EXPECT_EQ(checker.sweep_once(), 1u);
  EXPECT_EQ(backends[0]->sweeps.load(), 1);
  EXPECT_EQ(backends[1]->sweeps.load() + backends[2]->sweeps.load(), 2 + 4);

  backends[1]->sweep_fails = true;
  const int before = backends[2]->sweeps.load();
  EXPECT_EQ(checker.sweep_once(), 1u);
  EXPECT_EQ(checker.sweep_once(), 1u);
  EXPECT_EQ(backends[2]->sweeps.load(), before + 2);
  backends[2]->sweep_fails = true;
  EXPECT_EQ(checker.sweep_once(), 0u);
}

}  // namespace
}  // namespace efsas::service
