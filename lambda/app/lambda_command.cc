// Lambda mode: configuration is read once at init (an error is posted to /init/error); each
// invocation counts with a deadline before the invocation's own, reconciles and returns the run
// report. The scan cache file stays in /tmp between warm invocations.
#include "lambda_command.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "efsas/lambda/runtime.h"
#include "efsas/monitor/run.h"
#include "run_command.h"

namespace efsas::app {
namespace {

// EMF lines on standard output, one per line, flushed at once.
class StdoutSink final : public LogSink {
 public:
  void write_line(std::string_view line) override {
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

 private:
  std::mutex mutex_;
};

// Time kept back from the invocation's deadline to write the report and post the response.
constexpr std::chrono::seconds kReportTime{1};

// Time kept back from the invocation's deadline for the AWS calls after the scan.
std::chrono::nanoseconds reserve_for(std::chrono::nanoseconds remaining) {
  return std::min<std::chrono::nanoseconds>(remaining / 2, std::chrono::seconds(15));
}

lambda::InvocationResponse handle(const lambda::Invocation& invocation,
                                  const monitor::MonitorConfig& base, monitor::CloudApi& cloud,
                                  const Clock& clock, const Logger& log,
                                  const std::shared_ptr<LogSink>& metrics) {
  // X-Ray reads the trace id from the environment, as the managed runtimes set it.
  if (!invocation.trace_id.empty()) {
    ::setenv("_X_AMZN_TRACE_ID", invocation.trace_id.c_str(), 1);
  } else {
    ::unsetenv("_X_AMZN_TRACE_ID");
  }
  const Logger request_log = log.with({{"request_id", invocation.request_id}});
  monitor::MonitorConfig config = base;
  // An event may ask for a dry run: {"dry_run": true}; its other members are ignored (a
  // scheduled event has many). A payload that is not a JSON object, or a dry_run that is not a
  // boolean ("true", 1), is refused before anything is read or changed: taken as "no dry run",
  // the operator's dry run would have acted.
  const auto event = invocation.payload.find_first_not_of(" \t\r\n") == std::string::npos
                         ? nlohmann::json::object()
                         : nlohmann::json::parse(invocation.payload, nullptr, false);
  if (!event.is_object()) {
    return lambda::InvocationResponse::failure("Runtime.InvalidEvent",
                                               "the event is not a JSON object; nothing was done");
  }
  if (const auto dry_run = event.find("dry_run"); dry_run != event.end()) {
    if (!dry_run->is_boolean()) {
      return lambda::InvocationResponse::failure(
          "Runtime.InvalidEvent",
          "dry_run must be true or false, got " + dry_run->dump() + "; nothing was done");
    }
    config.dry_run = config.dry_run || dry_run->get<bool>();
  }
  // Lambda always sends a deadline; without one the scan runs to the end (as the CLI's does)
  // rather than stopping at once and never scaling.
  // The AWS calls end a second before the invocation does, leaving time to report.
  std::optional<SteadyTime> scan_deadline;
  std::optional<SteadyTime> aws_deadline;
  if (invocation.deadline) {
    const auto remaining = *invocation.deadline - clock.now();
    const SteadyTime end = clock.steady_now() + remaining;
    scan_deadline = end - reserve_for(remaining);
    aws_deadline = end - kReportTime;
  } else {
    request_log.warn(
        "invocation has no Lambda-Runtime-Deadline-Ms: the scan runs without a deadline");
  }
  cloud.scope_to(aws_deadline, request_log);
  auto report = monitor::run_once(cloud, config, clock, scan_deadline,
                                  monitor::RunOutputs{request_log, metrics});
  if (!report.ok()) {
    return lambda::InvocationResponse::failure(
        "Reconcile." + std::string(to_string(report.error().code)), report.error().to_string());
  }
  if (!report->ok()) {
    std::string message;
    for (const auto& e : report->errors) message += (message.empty() ? "" : "; ") + e;
    return lambda::InvocationResponse::failure("Reconcile.ActionFailed", message);
  }
  return lambda::InvocationResponse::ok(
      report->to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

int run_lambda() {
  const monitor::Environment env = process_environment();
  const auto api = env.find("AWS_LAMBDA_RUNTIME_API");
  if (api == env.end() || api->second.empty()) {
    std::fprintf(stderr, "file-monitor lambda: AWS_LAMBDA_RUNTIME_API is not set\n");
    return 1;
  }
  auto clock = std::make_shared<const RealClock>();
  auto transport = lambda::make_http_transport(api->second);
  lambda::RuntimeClient runtime(*transport);

  auto config = load_config(env, MonitorFlags{});
  const Logger log = make_logger(config.ok() ? config->log_level : LogLevel::kInfo, clock);
  if (!config.ok()) {
    log.error("invalid configuration", {{"error", config.error().message}});
    Status posted = runtime.post_init_error("Runtime.InvalidConfiguration", config.error().message);
    if (!posted.ok()) log.error("init/error failed", {{"error", posted.error().to_string()}});
    return 1;
  }
  auto cloud = make_cloud(env, clock, log);
  if (!cloud.ok()) {
    log.error("cannot set up the AWS client", {{"error", cloud.error().to_string()}});
    Status posted = runtime.post_init_error("Runtime.AwsClient", cloud.error().to_string());
    if (!posted.ok()) log.error("init/error failed", {{"error", posted.error().to_string()}});
    return 1;
  }
  // Lambda forwards stdout to CloudWatch Logs, where EMF lines become metrics.
  const std::shared_ptr<LogSink> metrics = std::make_shared<StdoutSink>();
  Status ended = lambda::run_runtime_loop(
      *transport,
      [&](const lambda::Invocation& invocation) {
        return handle(invocation, *config, **cloud, *clock, log, metrics);
      },
      log);
  return ended.ok() ? 0 : 1;
}

void add_lambda_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "lambda", "Run as a Lambda custom runtime (AWS_LAMBDA_RUNTIME_API): one run per event");
  cmd->callback([] {
    const int code = run_lambda();
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace efsas::app
