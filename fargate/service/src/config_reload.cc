// The mount-target list reloader and the static-file source.
#include "efsas/service/config_reload.h"

#include <algorithm>
#include <fstream>
#include <utility>

#include "efsas/mount_target_list.h"

namespace efsas::service {
namespace {

class FileListSource final : public ListSource {
 public:
  explicit FileListSource(std::string path) : path_(std::move(path)) {}
  Result<std::string> fetch() override {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return make_error(ErrorCode::kUnavailable, "cannot read " + path_, true);
    // One byte past the document limit is enough for the parser to refuse it: a huge file, or
    // one that never ends (/dev/zero), is not read whole.
    std::string content(MountTargetList::kMaxDocumentBytes + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    if (in.bad()) return make_error(ErrorCode::kUnavailable, "cannot read " + path_, true);
    content.resize(static_cast<std::size_t>(in.gcount()));
    return content;
  }
  std::string describe() const override { return "file " + path_; }

 private:
  std::string path_;
};

class StaticListSource final : public ListSource {
 public:
  explicit StaticListSource(std::string document) : document_(std::move(document)) {}
  Result<std::string> fetch() override { return document_; }
  std::string describe() const override { return "static document"; }

 private:
  std::string document_;
};

}  // namespace

std::unique_ptr<ListSource> make_file_list_source(std::string path) {
  return std::make_unique<FileListSource>(std::move(path));
}

std::unique_ptr<ListSource> make_static_list_source(std::string document) {
  return std::make_unique<StaticListSource>(std::move(document));
}

ConfigReloader::ConfigReloader(std::unique_ptr<ListSource> source,
                               std::shared_ptr<BackendFactory> factory, HealthPolicy policy,
                               FileService& service, Logger logger)
    : source_(std::move(source)),
      factory_(std::move(factory)),
      policy_(policy),
      service_(service),
      logger_(std::move(logger)) {}

ConfigReloader::~ConfigReloader() { stop(); }

ReloadOutcome ConfigReloader::reload_once() {
  std::lock_guard reload_lock(reload_mutex_);
  // No one can take a new reference to a retired table: a count of one is this list's own.
  std::erase_if(retired_, [](const auto& table) { return table.use_count() == 1; });
  auto fail = [&](const std::string& what, const Error& error) {
    service_.metrics().record_reload(false);
    // The same failure is the same problem whatever its message (which may carry a request id).
    report_problem(
        what + " " + std::string(to_string(error.code)) + " " + error.remote_code,
        "mount-target list not applied; keeping the last good list",
        {{"source", source_->describe()}, {"reason", what}, {"error", error.to_string()}});
    return ReloadOutcome::kFailed;
  };
  auto document = source_->fetch();
  if (!document.ok()) return fail("source unavailable", document.error());
  auto list = parse_mount_target_list(*document);
  if (!list.ok()) return fail("invalid document", list.error());

  const auto current = service_.table();
  if (current) {
    if (list->generation < current->list.generation) {
      service_.metrics().record_stale_generation();
      report_problem("stale " + std::to_string(list->generation),
                     "ignoring an older mount-target list",
                     {{"generation", list->generation}, {"active", current->list.generation}});
      return ReloadOutcome::kStale;
    }
    if (list->generation == current->list.generation) {
      if (!same_content(*list, current->list)) {
        report_problem("same generation " + std::to_string(list->generation),
                       "mount-target list changed without a new generation; ignored",
                       {{"generation", list->generation}});
      } else {
        problem_over();
      }
      return ReloadOutcome::kUnchanged;
    }
  }
  const std::uint64_t generation = list->generation;
  auto table = build_routing_table(std::move(*list), current.get(), *factory_, policy_);
  if (!table.ok()) return fail("cannot build routing table", table.error());
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& entry : (*table)->targets) ids.push_back(entry.target.id);
  service_.set_table(std::move(*table));
  if (current) retired_.push_back(current);
  service_.metrics().record_reload(true);
  problem_over();
  logger_.info(
      "mount-target list applied",
      {{"source", source_->describe()}, {"generation", generation}, {"mount_targets", ids}});
  return ReloadOutcome::kApplied;
}

void ConfigReloader::report_problem(const std::string& key, std::string_view message,
                                    nlohmann::json fields) {
  if (key != problem_) {
    problem_ = key;
    problem_polls_ = 0;
  }
  ++problem_polls_;
  if (problem_polls_ > 1) fields["polls_in_a_row"] = problem_polls_;
  const bool power_of_two = (problem_polls_ & (problem_polls_ - 1)) == 0;
  logger_.log(power_of_two ? LogLevel::kWarn : LogLevel::kDebug, message, fields);
}

void ConfigReloader::problem_over() {
  if (problem_polls_ == 0) return;
  logger_.info("mount-target list polls are back to normal",
               {{"source", source_->describe()}, {"polls_with_a_problem", problem_polls_}});
  problem_.clear();
  problem_polls_ = 0;
}

void ConfigReloader::start(std::chrono::milliseconds interval) {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, interval] { loop(interval); });
}

void ConfigReloader::trigger() {
  {
    std::lock_guard lock(mutex_);
    triggered_ = true;
  }
  wake_.notify_all();
}

void ConfigReloader::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ConfigReloader::loop(std::chrono::milliseconds interval) {
  std::unique_lock lock(mutex_);
  // Until a list is in place every file request is answered 503: the source is asked again
  // sooner, after 1 s, then twice as long each time up to the interval.
  std::chrono::milliseconds first_list_wait{1000};
  while (!stopping_) {
    std::chrono::milliseconds wait = interval;
    if (service_.table() == nullptr) {
      wait = std::min(interval, first_list_wait);
      first_list_wait = std::min(interval, first_list_wait * 2);
    }
    wake_.wait_for(lock, wait, [this] { return stopping_ || triggered_; });
    if (stopping_) break;
    triggered_ = false;
    lock.unlock();
    reload_once();
    lock.lock();
  }
}

}  // namespace efsas::service
