// `file-monitor count DIR [--json] [--threads N] [--cache PATH] [--timeout S]`: one scan of a
// directory with the library's parallel walk; live progress on a terminal.
#include "count_command.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "efsas/clock.h"
#include "efsas/counter/counter.h"
#include "efsas/monitor/config.h"
#include "efsas/result.h"

namespace efsas::app {
namespace {

struct CountArgs {
  std::string directory;
  bool json = false;
  unsigned threads = 16;
  std::string cache_path;
  double timeout_seconds = 0;
  bool progress = true;
};

void print_text(const counter::CountResult& r) {
  std::printf("files        %llu\n", static_cast<unsigned long long>(r.counts.files));
  std::printf("directories  %llu\n", static_cast<unsigned long long>(r.counts.directories));
  std::printf("symlinks     %llu\n", static_cast<unsigned long long>(r.counts.symlinks));
  std::printf("other        %llu\n", static_cast<unsigned long long>(r.counts.other));
  std::printf("errors       %llu\n", static_cast<unsigned long long>(r.errors));
  std::printf("seconds      %.3f\n", r.seconds());
  std::printf("files/s      %.0f\n", r.files_per_second());
  std::printf("threads      %zu\n", r.threads);
  std::printf("complete     %s\n",
              r.complete ? "yes" : ("no (" + r.incomplete_reason + ")").c_str());
  if (r.cache_state != counter::CacheState::kDisabled) {
    std::printf("cache        %s, %llu directories listed, %llu reused%s\n",
                std::string(counter::to_string(r.cache_state)).c_str(),
                static_cast<unsigned long long>(r.directories_read),
                static_cast<unsigned long long>(r.directories_reused),
                r.cache_saved ? ", saved" : "");
  }
  for (const counter::ScanError& e : r.error_samples) {
    std::printf("error        %s: %s\n", counter::escape_for_display(e.path).c_str(),
                e.message.c_str());
  }
  if (r.errors > r.error_samples.size()) {
    std::printf("error        ... and %llu more\n",
                static_cast<unsigned long long>(r.errors - r.error_samples.size()));
  }
}

int run_count(const CountArgs& args) {
  const RealClock clock;
  counter::CountOptions options;
  options.threads = args.threads;
  options.cache_path = args.cache_path;
  if (args.timeout_seconds > 0) {
    options.deadline =
        clock.steady_now() + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::duration<double>(args.timeout_seconds));
  }
  const bool live = args.progress && ::isatty(STDERR_FILENO) == 1;
  if (live) {
    options.on_progress = [](const counter::Progress& p) {
      std::fprintf(stderr, "\r\033[Kcounting: %llu files, %llu directories, %llu errors, %.1f s",
                   static_cast<unsigned long long>(p.files),
                   static_cast<unsigned long long>(p.directories),
                   static_cast<unsigned long long>(p.errors),
                   std::chrono::duration<double>(p.elapsed).count());
    };
  }
  Result<counter::CountResult> result = counter::count_files(args.directory, options, clock);
  if (live) std::fputs("\r\033[K", stderr);
  if (!result.ok()) {
    std::fprintf(stderr, "file-monitor count: %s\n", result.error().message.c_str());
    return 1;
  }
  if (args.json) {
    nlohmann::json j = counter::to_json(*result);
    j["directory"] = args.directory;
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    print_text(*result);
  }
  if (!result->cache_message.empty() && result->cache_state != counter::CacheState::kMissing) {
    std::fprintf(stderr, "file-monitor count: %s\n", result->cache_message.c_str());
  }
  if (!result->cache_save_error.empty()) {
    std::fprintf(stderr, "file-monitor count: scan cache not saved: %s\n",
                 result->cache_save_error.c_str());
  }
  return result->complete ? 0 : 3;
}

}  // namespace

void add_count_command(CLI::App& app) {
  auto args = std::make_shared<CountArgs>();
  CLI::App* cmd = app.add_subcommand("count", "Count the files under a directory");
  cmd->add_option("directory", args->directory, "Directory to count")->required();
  cmd->add_flag("--json", args->json, "Print the figures as one JSON object");
  CLI::Option* threads =
      cmd->add_option("--threads", args->threads,
                      "Worker threads at most (started while the running ones wait on I/O: more "
                      "than cores keeps more directory reads in flight)")
          ->check(CLI::Range(1U, 1024U));
  cmd->add_option("--cache", args->cache_path,
                  "Incremental mode: cache file of unchanged directories")
      ->envname("SCAN_CACHE_PATH");
  // At most a year: a larger figure would not fit the clock (and "1e12" meaning "no limit"
  // would otherwise stop at once).
  cmd->add_option("--timeout", args->timeout_seconds,
                  "Stop after this many seconds and report a partial count (0: no limit)")
      ->check(CLI::Validator(
          [](const std::string& text) {
            const double value = std::strtod(text.c_str(), nullptr);
            return std::isfinite(value) && value >= 0 && value <= 366.0 * 86'400
                       ? std::string()
                       : "seconds from 0 to 31622400 (a year), got " + text;
          },
          "SECONDS"));
  cmd->add_flag("!--no-progress", args->progress, "No live progress on a terminal");
  // SCAN_THREADS is read here, not with the option's envname: CLI11 checks an envname's value
  // even when another subcommand runs, and `run` reports a bad SCAN_THREADS by its own name.
  cmd->callback([args, threads] {
    if (threads->count() == 0) {
      // Set but blank is unset, as for `run`.
      if (const char* env = std::getenv("SCAN_THREADS");
          env != nullptr &&
          std::string_view(env).find_first_not_of(" \t\r\n") != std::string_view::npos) {
        auto n = monitor::parse_scan_threads(env);
        if (!n) throw CLI::ValidationError(n.error().message);
        args->threads = static_cast<unsigned>(*n);
      }
    }
    const int code = run_count(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace efsas::app
