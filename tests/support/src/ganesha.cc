// nfs-ganesha servers as child processes, one per loopback address, sharing one export.
#include "efsas/testing/ganesha.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace efsas::testing {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void abort_with(const std::string& message) {
  std::fprintf(stderr, "GaneshaCluster: %s\n", message.c_str());
  std::abort();
}

// The configuration seen to work with Debian's nfs-ganesha 4.3 for user-space NFSv4 clients:
// Graceless (otherwise opens fail with NFS4ERR_GRACE for the grace period after each start),
// its own recovery directory and D-Bus name (instances must not share either), and attribute
// caching off (otherwise one instance serves attributes that another has already changed).
std::string config_text(const std::string& address, const fs::path& export_dir,
                        const fs::path& recovery_dir, std::size_t index,
                        std::chrono::seconds lease) {
  const std::string prefix = "efsastest" + std::to_string(::getpid()) + "n" + std::to_string(index);
  std::string text;
  text += "NFS_CORE_PARAM {\n  Protocols = 4;\n  NFS_Port = 2049;\n  Bind_addr = " + address +
          ";\n  Enable_RQUOTA = false;\n  Enable_NLM = false;\n  Enable_UDP = false;\n"
          "  Dbus_Name_Prefix = \"" +
          prefix + "\";\n}\n";
  text += "NFS_KRB5 {\n  Active_krb5 = false;\n}\n";
  text += "NFSv4 {\n  Graceless = true;\n  RecoveryBackend = fs;\n  RecoveryRoot = \"" +
          recovery_dir.string() + "\";\n  Only_Numeric_Owners = true;\n  Lease_Lifetime = " +
          std::to_string(lease.count()) + ";\n}\n";
  text += "EXPORT {\n  Export_Id = 1;\n  Path = \"" + export_dir.string() +
          "\";\n  Pseudo = /;\n  Access_Type = RW;\n  Squash = No_Root_Squash;\n"
          "  Protocols = 4;\n  SecType = sys;\n  Attr_Expiration_Time = 0;\n"
          "  FSAL {\n    Name = VFS;\n  }\n}\n";
  return text;
}

// Whether every thread of the process is stopped ("T") or, with want_stopped false, none is.
// Signals take effect asynchronously; a test must not send a request before they have.
bool threads_in_state(pid_t pid, bool want_stopped) {
  std::error_code ec;
  const fs::path tasks = fs::path("/proc") / std::to_string(pid) / "task";
  for (const auto& task : fs::directory_iterator(tasks, ec)) {
    const std::string stat = read_file(task.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) continue;
    const char state = stat[close + 2];
    const bool stopped = state == 'T' || state == 't';
    if (stopped != want_stopped) return false;
  }
  return !ec;
}

void wait_threads(pid_t pid, bool want_stopped) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!threads_in_state(pid, want_stopped)) {
    if (std::chrono::steady_clock::now() > deadline) {
      abort_with(std::string("ganesha.nfsd did not ") + (want_stopped ? "stop" : "continue"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

GaneshaCluster::GaneshaCluster(GaneshaOptions options) {
  if (options.instances == 0 || options.instances > 250) abort_with("bad instance count");
  export_dir_ = dir_.path() / "export";
  fs::create_directories(export_dir_);
  instances_.resize(options.instances);
  for (std::size_t i = 0; i < options.instances; ++i) {
    Instance& instance = instances_[i];
    instance.address = "127.0.0." + std::to_string(i + 2);
    const fs::path own = dir_.path() / ("ganesha" + std::to_string(i));
    fs::create_directories(own / "recovery");
    instance.config = own / "ganesha.conf";
    instance.log = own / "ganesha.log";
    instance.pid_file = own / "ganesha.pid";
    write_file(instance.config, config_text(instance.address, export_dir_, own / "recovery", i,
                                            options.lease_lifetime));
    // Another process's servers (the demo, a test from another build tree) may be stopping.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (wait_for_port(instance.address, kPort, std::chrono::milliseconds(100)) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (wait_for_port(instance.address, kPort, std::chrono::milliseconds(100))) {
      abort_with("something already listens on " + instance.address +
                 ":2049 (a system nfs-ganesha? scripts/install-deps.sh stops it; or another "
                 "test without RESOURCE_LOCK ganesha)");
    }
  }
  for (auto& instance : instances_) start(instance);
}

GaneshaCluster::~GaneshaCluster() {
  // The servers hold nothing worth a clean shutdown (a fresh export per cluster), and a
  // graceful stop takes ganesha about two seconds each.
  for (auto& instance : instances_) {
    if (instance.process) instance.process->signal(SIGKILL);
  }
  for (auto& instance : instances_) {
    if (instance.process) instance.process->stop(std::chrono::milliseconds(0));
  }
}

void GaneshaCluster::start(Instance& instance) {
  ProcessOptions options;
  options.argv = {"ganesha.nfsd", "-F",
                  "-L",           instance.log.string(),
                  "-f",           instance.config.string(),
                  "-p",           instance.pid_file.string()};
  options.log_file = instance.log.string() + ".out";
  instance.process = std::make_unique<Process>(options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (wait_for_port(instance.address, kPort, std::chrono::milliseconds(200))) return;
    if (!instance.process->running()) break;
  }
  abort_with("ganesha.nfsd on " + instance.address + " did not start (is nfs-ganesha-vfs " +
             "installed? scripts/install-deps.sh). Log:\n" + read_file(instance.log) +
             read_file(options.log_file));
}

GaneshaCluster::Instance& GaneshaCluster::at(std::size_t i) {
  if (i >= instances_.size()) abort_with("no instance " + std::to_string(i));
  return instances_[i];
}

const std::string& GaneshaCluster::address(std::size_t i) const {
  if (i >= instances_.size()) abort_with("no instance " + std::to_string(i));
  return instances_[i].address;
}

std::vector<std::string> GaneshaCluster::addresses() const {
  std::vector<std::string> out;
  for (const auto& instance : instances_) out.push_back(instance.address);
  return out;
}

void GaneshaCluster::kill(std::size_t i) {
  Instance& instance = at(i);
  if (!instance.process) return;
  // SIGKILL first: a stopped server dies without running again, so it never answers what it
  // was sent while stopped.
  instance.process->signal(SIGKILL);
  instance.process->signal(SIGCONT);
  instance.process->stop(std::chrono::milliseconds(0));
  instance.process.reset();
}

void GaneshaCluster::pause(std::size_t i) {
  Instance& instance = at(i);
  if (!instance.process) return;
  instance.process->signal(SIGSTOP);
  wait_threads(instance.process->pid(), true);
}

void GaneshaCluster::resume(std::size_t i) {
  Instance& instance = at(i);
  if (!instance.process) return;
  instance.process->signal(SIGCONT);
  wait_threads(instance.process->pid(), false);
}

void GaneshaCluster::serve_all() {
  for (std::size_t i = 0; i < size(); ++i) {
    if (!running(i)) restart(i);
    resume(i);
  }
}

void GaneshaCluster::restart(std::size_t i) {
  Instance& instance = at(i);
  kill(i);
  start(instance);
}

bool GaneshaCluster::running(std::size_t i) {
  Instance& instance = at(i);
  return instance.process && instance.process->running();
}

std::string GaneshaCluster::log(std::size_t i) const {
  if (i >= instances_.size()) return {};
  return read_file(instances_[i].log);
}

}  // namespace efsas::testing
