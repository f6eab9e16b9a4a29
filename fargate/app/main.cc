// file-service: configuration from the environment (names agreed in the README) and flags, parsed
// once into a value; then the mount-target list, health checks and the HTTP server, until SIGTERM.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "efsas/aws/client.h"
#include "efsas/aws/environment.h"
#include "efsas/aws/http.h"
#include "efsas/clock.h"
#include "efsas/log.h"
#include "efsas/service/config_reload.h"
#include "efsas/service/directory_backend.h"
#include "efsas/service/file_service.h"
#include "efsas/service/health_checker.h"
#include "efsas/service/http_server.h"
#include "efsas/service/ssm_list_source.h"
#ifdef EFSAS_HAVE_NFS_BACKEND
#include "efsas/nfs/nfs_backend.h"
#endif

extern char** environ;

namespace {

using efsas::aws::env_value;
using efsas::aws::Environment;

struct Config {
  std::string listen_address = "0.0.0.0";
  int port = 8080;
  std::string ssm_parameter_name;
  std::string mount_targets_file;
  std::string mount_targets_json;
  int config_poll_seconds = 30;
  std::string storage_backend = "directory";
  std::string mount_path_template;
  std::string nfs_export_path = "/";
  int nfs_uid = -1;
  int nfs_gid = -1;
  int nfs_sessions_per_target = 4;
  int nfs_timeout_ms = 5000;
  std::string nfs_address_map;
  std::uint64_t body_limit_bytes = 104857600;
  std::uint64_t upload_memory_limit_bytes = 1073741824;
  std::string upload_spool_dir = "/tmp";
  std::uint64_t upload_spool_limit_bytes = 8589934592;
  int worker_threads = 16;
  // Two event loops per CPU: a loop that serves a local read in place can wait on the disk, and
  // one that another process preempts holds its connections until it runs again; a second loop
  // per CPU keeps the CPUs busy meanwhile (4 KiB GETs on 2 CPUs: 35% more requests/s than 2).
  int io_threads = static_cast<int>(2 * std::max(1u, std::thread::hardware_concurrency()));
  std::size_t max_connections = 4096;
  int header_timeout_ms = 10000;
  int body_timeout_ms = 60000;
  int idle_timeout_ms = 60000;
  int request_timeout_ms = 30000;
  int shutdown_grace_seconds = 20;
  int health_interval_ms = 2000;
  int health_timeout_ms = 1000;
  int health_failures_to_down = 3;
  int health_successes_to_up = 2;
  int temp_sweep_interval_seconds = 600;
  int temp_max_age_seconds = 3600;
  bool access_log = true;
  bool inline_local_io = true;
  std::string log_level = "info";
};

template <typename T>
bool env_number(const Environment& env, std::string_view name, T* out, std::string* error) {
  const auto text = env_value(env, name);
  if (!text) return true;
  T value{};
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size()) {
    *error = std::string(name) + ": expected a number, got '" + *text + "'";
    return false;
  }
  *out = value;
  return true;
}

// The settings' ranges, checked once environment and flags are both read: the flags' own checks
// never see a value that came from the environment. Empty when every setting is in range.
std::string out_of_range(const Config& c) {
  struct Bound {
    const char* name;
    long long value;
    long long min;
    long long max;
  };
  constexpr long long kDayMs = 86'400'000;
  constexpr long long kYearSeconds = 366LL * 86'400;
  const Bound bounds[] = {
      {"PORT", c.port, 0, 65535},
      {"CONFIG_POLL_SECONDS", c.config_poll_seconds, 1, kYearSeconds},
      {"NFS_SESSIONS_PER_TARGET", c.nfs_sessions_per_target, 1, 256},
      {"NFS_TIMEOUT_MS", c.nfs_timeout_ms, 1, kDayMs},
      {"WORKER_THREADS", c.worker_threads, 1, 4096},
      {"IO_THREADS", c.io_threads, 1, 1024},
      {"MAX_CONNECTIONS",
       static_cast<long long>(std::min<std::size_t>(c.max_connections, 1LL << 40)), 1, 10'000'000},
      {"HEADER_TIMEOUT_MS", c.header_timeout_ms, 1, kDayMs},
      {"BODY_TIMEOUT_MS", c.body_timeout_ms, 1, kDayMs},
      {"IDLE_TIMEOUT_MS", c.idle_timeout_ms, 1, kDayMs},
      {"REQUEST_TIMEOUT_MS", c.request_timeout_ms, 1, kDayMs},
      {"SHUTDOWN_GRACE_SECONDS", c.shutdown_grace_seconds, 0, 86'400},
      {"HEALTH_INTERVAL_MS", c.health_interval_ms, 1, kDayMs},
      {"HEALTH_TIMEOUT_MS", c.health_timeout_ms, 1, kDayMs},
      {"HEALTH_FAILURES_TO_DOWN", c.health_failures_to_down, 1, 1000},
      {"HEALTH_SUCCESSES_TO_UP", c.health_successes_to_up, 1, 1000},
      {"TEMP_SWEEP_INTERVAL_SECONDS", c.temp_sweep_interval_seconds, 0, kYearSeconds},
      {"TEMP_MAX_AGE_SECONDS", c.temp_max_age_seconds, 1, kYearSeconds},
  };
  for (const Bound& b : bounds) {
    if (b.value < b.min || b.value > b.max) {
      return std::string(b.name) + " must be between " + std::to_string(b.min) + " and " +
             std::to_string(b.max) + ", got " + std::to_string(b.value);
    }
  }
  return "";
}

bool env_bool(const Environment& env, std::string_view name, bool* out, std::string* error) {
  const auto text = env_value(env, name);
  if (!text) return true;
  if (*text == "true" || *text == "1" || *text == "yes") {
    *out = true;
  } else if (*text == "false" || *text == "0" || *text == "no") {
    *out = false;
  } else {
    *error = std::string(name) + ": expected true or false, got '" + *text + "'";
    return false;
  }
  return true;
}

// Environment first; flags given on the command line override it.
int parse_config(const Environment& env, int argc, char** argv, Config* config) {
  std::string error;
  auto str = [&](std::string_view name, std::string* out) {
    if (auto v = env_value(env, name)) *out = *v;
  };
  str("LISTEN_ADDRESS", &config->listen_address);
  str("SSM_PARAMETER_NAME", &config->ssm_parameter_name);
  str("MOUNT_TARGETS_FILE", &config->mount_targets_file);
  str("MOUNT_TARGETS_JSON", &config->mount_targets_json);
  str("STORAGE_BACKEND", &config->storage_backend);
  str("MOUNT_PATH_TEMPLATE", &config->mount_path_template);
  str("NFS_EXPORT_PATH", &config->nfs_export_path);
  str("NFS_ADDRESS_MAP", &config->nfs_address_map);
  str("LOG_LEVEL", &config->log_level);
  str("UPLOAD_SPOOL_DIR", &config->upload_spool_dir);
  const bool numbers_ok =
      env_number(env, "PORT", &config->port, &error) &&
      env_number(env, "CONFIG_POLL_SECONDS", &config->config_poll_seconds, &error) &&
      env_number(env, "NFS_UID", &config->nfs_uid, &error) &&
      env_number(env, "NFS_GID", &config->nfs_gid, &error) &&
      env_number(env, "NFS_SESSIONS_PER_TARGET", &config->nfs_sessions_per_target, &error) &&
      env_number(env, "NFS_TIMEOUT_MS", &config->nfs_timeout_ms, &error) &&
      env_number(env, "BODY_LIMIT_BYTES", &config->body_limit_bytes, &error) &&
      env_number(env, "UPLOAD_MEMORY_LIMIT_BYTES", &config->upload_memory_limit_bytes, &error) &&
      env_number(env, "UPLOAD_SPOOL_LIMIT_BYTES", &config->upload_spool_limit_bytes, &error) &&
      env_number(env, "WORKER_THREADS", &config->worker_threads, &error) &&
      env_number(env, "IO_THREADS", &config->io_threads, &error) &&
      env_number(env, "MAX_CONNECTIONS", &config->max_connections, &error) &&
      env_number(env, "HEADER_TIMEOUT_MS", &config->header_timeout_ms, &error) &&
      env_number(env, "BODY_TIMEOUT_MS", &config->body_timeout_ms, &error) &&
      env_number(env, "IDLE_TIMEOUT_MS", &config->idle_timeout_ms, &error) &&
      env_number(env, "REQUEST_TIMEOUT_MS", &config->request_timeout_ms, &error) &&
      env_number(env, "SHUTDOWN_GRACE_SECONDS", &config->shutdown_grace_seconds, &error) &&
      env_number(env, "HEALTH_INTERVAL_MS", &config->health_interval_ms, &error) &&
      env_number(env, "HEALTH_TIMEOUT_MS", &config->health_timeout_ms, &error) &&
      env_number(env, "HEALTH_FAILURES_TO_DOWN", &config->health_failures_to_down, &error) &&
      env_number(env, "HEALTH_SUCCESSES_TO_UP", &config->health_successes_to_up, &error) &&
      env_number(env, "TEMP_SWEEP_INTERVAL_SECONDS", &config->temp_sweep_interval_seconds,
                 &error) &&
      env_number(env, "TEMP_MAX_AGE_SECONDS", &config->temp_max_age_seconds, &error) &&
      env_bool(env, "ACCESS_LOG", &config->access_log, &error) &&
      env_bool(env, "INLINE_LOCAL_IO", &config->inline_local_io, &error);
  if (!numbers_ok) {
    std::fprintf(stderr, "file-service: %s\n", error.c_str());
    return 2;
  }

  CLI::App app{"file-service: stores and serves files on EFS, spread over its mount targets"};
  app.add_option("--listen-address", config->listen_address, "LISTEN_ADDRESS");
  // Ranges are checked once, for flags and environment alike, by out_of_range below.
  app.add_option("--port", config->port, "PORT");
  app.add_option("--ssm-parameter-name", config->ssm_parameter_name, "SSM_PARAMETER_NAME");
  app.add_option("--mount-targets-file", config->mount_targets_file, "MOUNT_TARGETS_FILE");
  app.add_option("--mount-targets-json", config->mount_targets_json,
                 "MOUNT_TARGETS_JSON: the list document itself (when neither SSM nor a file)");
  app.add_option("--config-poll-seconds", config->config_poll_seconds, "CONFIG_POLL_SECONDS");
  // Checked below, for flag and environment alike.
  app.add_option("--storage-backend", config->storage_backend, "STORAGE_BACKEND (directory|nfs)");
  app.add_option("--mount-path-template", config->mount_path_template, "MOUNT_PATH_TEMPLATE");
  app.add_option("--nfs-export-path", config->nfs_export_path,
                 "NFS_EXPORT_PATH: the directory of the export that is served (nfs back end)");
  app.add_option("--nfs-uid", config->nfs_uid, "NFS_UID: the user id sent with NFS calls");
  app.add_option("--nfs-gid", config->nfs_gid, "NFS_GID: the group id sent with NFS calls");
  app.add_option("--nfs-sessions-per-target", config->nfs_sessions_per_target,
                 "NFS_SESSIONS_PER_TARGET: NFS connections kept to each mount target");
  app.add_option("--nfs-timeout-ms", config->nfs_timeout_ms,
                 "NFS_TIMEOUT_MS: time an NFS call may go unanswered");
  app.add_option("--nfs-address-map", config->nfs_address_map,
                 "NFS_ADDRESS_MAP: ip=host:port,... to reach mount targets at other addresses");
  app.add_option("--body-limit-bytes", config->body_limit_bytes, "BODY_LIMIT_BYTES");
  app.add_option("--upload-memory-limit-bytes", config->upload_memory_limit_bytes,
                 "UPLOAD_MEMORY_LIMIT_BYTES: request bodies held in memory at once, at most");
  app.add_option("--upload-spool-dir", config->upload_spool_dir,
                 "UPLOAD_SPOOL_DIR: where bodies that find no room in memory wait");
  app.add_option("--upload-spool-limit-bytes", config->upload_spool_limit_bytes,
                 "UPLOAD_SPOOL_LIMIT_BYTES: spooled bodies at once, at most (0: no spooling)");
  app.add_option("--worker-threads", config->worker_threads, "WORKER_THREADS");
  app.add_option("--io-threads", config->io_threads, "IO_THREADS");
  app.add_option("--max-connections", config->max_connections, "MAX_CONNECTIONS");
  app.add_option("--header-timeout-ms", config->header_timeout_ms, "HEADER_TIMEOUT_MS");
  app.add_option("--body-timeout-ms", config->body_timeout_ms, "BODY_TIMEOUT_MS");
  app.add_option("--idle-timeout-ms", config->idle_timeout_ms, "IDLE_TIMEOUT_MS");
  app.add_option("--request-timeout-ms", config->request_timeout_ms, "REQUEST_TIMEOUT_MS");
  app.add_option("--shutdown-grace-seconds", config->shutdown_grace_seconds,
                 "SHUTDOWN_GRACE_SECONDS");
  app.add_option("--health-interval-ms", config->health_interval_ms, "HEALTH_INTERVAL_MS");
  app.add_option("--health-timeout-ms", config->health_timeout_ms, "HEALTH_TIMEOUT_MS");
  app.add_option("--health-failures-to-down", config->health_failures_to_down,
                 "HEALTH_FAILURES_TO_DOWN");
  app.add_option("--health-successes-to-up", config->health_successes_to_up,
                 "HEALTH_SUCCESSES_TO_UP");
  app.add_option(
      "--temp-sweep-interval-seconds", config->temp_sweep_interval_seconds,
      "TEMP_SWEEP_INTERVAL_SECONDS: how often stale temporary files are swept (0: never)");
  app.add_option(
      "--temp-max-age-seconds", config->temp_max_age_seconds,
      "TEMP_MAX_AGE_SECONDS: age after which a temporary file counts as left by a crash");
  app.add_option("--access-log", config->access_log, "ACCESS_LOG (true|false)");
  app.add_option("--inline-local-io", config->inline_local_io,
                 "INLINE_LOCAL_IO (true|false): handle requests on the network threads when "
                 "every mount-target directory is on a local disk");
  app.add_option("--log-level", config->log_level, "LOG_LEVEL");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? -1 : 2;  // -1: --help was shown
  }
  if (const std::string problem = out_of_range(*config); !problem.empty()) {
    std::fprintf(stderr, "file-service: %s\n", problem.c_str());
    return 2;
  }
  if (config->storage_backend != "directory" && config->storage_backend != "nfs") {
    std::fprintf(stderr, "file-service: STORAGE_BACKEND must be directory or nfs, got '%s'\n",
                 config->storage_backend.c_str());
    return 2;
  }
  if (config->ssm_parameter_name.empty() && config->mount_targets_file.empty() &&
      config->mount_targets_json.empty()) {
    std::fprintf(
        stderr, "file-service: set SSM_PARAMETER_NAME, MOUNT_TARGETS_FILE or MOUNT_TARGETS_JSON\n");
    return 2;
  }
  if (config->upload_memory_limit_bytes < config->body_limit_bytes) {
    std::fprintf(stderr,
                 "file-service: UPLOAD_MEMORY_LIMIT_BYTES (%llu) must be at least BODY_LIMIT_BYTES "
                 "(%llu): a body of the largest size must fit\n",
                 static_cast<unsigned long long>(config->upload_memory_limit_bytes),
                 static_cast<unsigned long long>(config->body_limit_bytes));
    return 2;
  }
  if (config->upload_spool_limit_bytes > 0) {
    auto spool = efsas::service::open_spool_file(config->upload_spool_dir);
    if (!spool.ok()) {
      std::fprintf(stderr, "file-service: UPLOAD_SPOOL_DIR is not usable: %s\n",
                   spool.error().message.c_str());
      return 2;
    }
    ::close(*spool);
  }
  if (config->storage_backend == "directory" && config->mount_path_template.empty()) {
    std::fprintf(stderr,
                 "file-service: the directory back end needs MOUNT_PATH_TEMPLATE "
                 "(e.g. /mnt/efs/{az})\n");
    return 2;
  }
  return 0;
}

std::string random_instance_id() {
  std::random_device device;
  std::uniform_int_distribution<unsigned> digit(0, 15);
  std::string id;
  for (int i = 0; i < 12; ++i) id += "0123456789abcdef"[digit(device)];
  return id;
}

// Every connection holds a descriptor, and the usual soft limit on open files (1024) is below
// MAX_CONNECTIONS: raise it to the hard limit, as servers do, and say when the connection limit
// still cannot be reached (connections past the open-file limit wait in the backlog).
void raise_open_file_limit(std::size_t max_connections, const efsas::Logger& logger) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  // Descriptors besides connections: files being served, NFS sessions, the log.
  constexpr rlim_t kReserve = 256;
  if (limit.rlim_cur != RLIM_INFINITY && max_connections + kReserve > limit.rlim_cur) {
    logger.warn("the open-file limit leaves room for fewer connections than MAX_CONNECTIONS",
                {{"open_file_limit", limit.rlim_cur}, {"max_connections", max_connections}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken synchronously by the main thread; every thread started later inherits
  // the mask, so none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const Environment env = efsas::aws::environment_from(environ);
  Config config;
  if (const int code = parse_config(env, argc, argv, &config); code != 0) {
    return code < 0 ? 0 : code;
  }
  efsas::LogLevel level = efsas::LogLevel::kInfo;
  if (!efsas::parse_log_level(config.log_level, &level)) {
    std::fprintf(stderr, "file-service: LOG_LEVEL: unknown level '%s'\n", config.log_level.c_str());
    return 2;
  }
  auto clock = std::make_shared<efsas::RealClock>();
  const efsas::Logger logger(efsas::make_stderr_sink(), level, clock,
                             {{"service", "file-service"}});
  const std::string instance_id = random_instance_id();

  std::shared_ptr<efsas::service::BackendFactory> factory;
  if (config.storage_backend == "directory") {
    factory =
        efsas::service::make_directory_backend_factory(config.mount_path_template, instance_id);
  } else {
#ifdef EFSAS_HAVE_NFS_BACKEND
    efsas::nfs::NfsBackendOptions nfs;
    nfs.export_path = config.nfs_export_path;
    if (config.nfs_uid >= 0) nfs.uid = config.nfs_uid;
    if (config.nfs_gid >= 0) nfs.gid = config.nfs_gid;
    nfs.sessions_per_target = static_cast<std::size_t>(std::max(1, config.nfs_sessions_per_target));
    nfs.timeout = std::chrono::milliseconds(config.nfs_timeout_ms);
    auto map = efsas::nfs::parse_address_map(config.nfs_address_map);
    if (!map.ok()) {
      logger.error("invalid NFS_ADDRESS_MAP", {{"error", map.error().to_string()}});
      return 2;
    }
    nfs.address_map = std::move(*map);
    nfs.instance_id = instance_id;
    factory = efsas::nfs::make_nfs_backend_factory(std::move(nfs), clock);
#else
    logger.error("this build has no NFS back end; use STORAGE_BACKEND=directory");
    return 2;
#endif
  }

  std::unique_ptr<efsas::service::ListSource> source;
  if (!config.ssm_parameter_name.empty()) {
    auto transport = efsas::aws::make_curl_transport(
        8, efsas::aws::env_value(env, "AWS_CA_BUNDLE").value_or(""));
    auto client = efsas::aws::make_aws_client(env, std::move(transport), clock, logger);
    if (!client.ok()) {
      logger.error("cannot set up the AWS client", {{"error", client.error().to_string()}});
      return 2;
    }
    source = efsas::service::make_ssm_list_source(*client, config.ssm_parameter_name);
  } else if (!config.mount_targets_file.empty()) {
    source = efsas::service::make_file_list_source(config.mount_targets_file);
  } else {
    source = efsas::service::make_static_list_source(config.mount_targets_json);
  }

  efsas::service::ServiceOptions service_options;
  service_options.body_limit = config.body_limit_bytes;
  efsas::service::FileService service(service_options, clock, logger);
  const efsas::service::HealthPolicy policy{config.health_failures_to_down,
                                            config.health_successes_to_up};
  efsas::service::ConfigReloader reloader(std::move(source), factory, policy, service, logger);
  reloader.reload_once();  // a failure leaves the service up but not ready; polling retries
  reloader.start(std::chrono::seconds(config.config_poll_seconds));

  efsas::service::HealthCheckOptions health;
  health.interval = std::chrono::milliseconds(config.health_interval_ms);
  health.timeout = std::chrono::milliseconds(config.health_timeout_ms);
  health.sweep_interval = std::chrono::seconds(config.temp_sweep_interval_seconds);
  health.sweep_age = std::chrono::seconds(config.temp_max_age_seconds);
  efsas::service::HealthChecker checker(service, health, logger);
  checker.start();

  raise_open_file_limit(config.max_connections, logger);
  efsas::service::ServerOptions server_options;
  server_options.address = config.listen_address;
  server_options.port = static_cast<std::uint16_t>(config.port);
  server_options.io_threads = config.io_threads;
  server_options.worker_threads = config.worker_threads;
  server_options.max_connections = config.max_connections;
  server_options.upload_memory_limit = config.upload_memory_limit_bytes;
  server_options.spool_dir = config.upload_spool_dir;
  server_options.spool_limit = config.upload_spool_limit_bytes;
  server_options.header_timeout = std::chrono::milliseconds(config.header_timeout_ms);
  server_options.body_timeout = std::chrono::milliseconds(config.body_timeout_ms);
  server_options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  server_options.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  server_options.access_log = config.access_log;
  server_options.inline_local_io = config.inline_local_io;
  efsas::service::HttpServer server(server_options, service, logger);
  if (auto started = server.start(); !started.ok()) {
    logger.error("cannot start the HTTP server", {{"error", started.error().to_string()}});
    std::fflush(nullptr);
    std::_Exit(1);
  }
  logger.info("listening", {{"address", config.listen_address},
                            {"port", server.port()},
                            {"storage_backend", config.storage_backend},
                            {"instance_id", instance_id}});

  for (;;) {
    int signo = 0;
    if (sigwait(&signals, &signo) != 0) continue;
    if (signo == SIGHUP) {
      logger.info("SIGHUP: reloading the mount-target list");
      reloader.trigger();
      continue;
    }
    logger.info("shutting down", {{"signal", signo == SIGTERM ? "SIGTERM" : "SIGINT"},
                                  {"grace_seconds", config.shutdown_grace_seconds}});
    break;
  }
  server.shutdown(std::chrono::seconds(config.shutdown_grace_seconds));
  server.wait();  // returns after the grace period even if a worker is stuck on a hung mount
  logger.info("stopped");
  std::fflush(nullptr);
  // A thread stuck on a hung mount (a worker, a probe, the temporary-file sweep) must not keep
  // the task alive: leave without joining any of them (the checker's and reloader's included).
  std::_Exit(0);
}
