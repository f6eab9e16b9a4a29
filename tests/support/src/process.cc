// Child processes, ports and temporary directories for tests.
#include "efsas/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace efsas::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/efsas-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests make directories unreadable on purpose; give permissions back before removing.
  for (auto it = fs::recursive_directory_iterator(
           path_, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
  if (ec) {
    // A second pass catches directories that became readable only after the first.
    fs::remove_all(path_, ec);
  }
}

int free_port(const std::string& host) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed on " + host);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

// A socket connected to host:port, or -1.
int connect_to(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool wait_for_port(const std::string& host, int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = connect_to(host, port);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int connect_loopback(int port) { return connect_to("127.0.0.1", port); }

std::string raw_exchange(int port, const std::string& bytes, std::chrono::milliseconds timeout) {
  const int fd = connect_loopback(port);
  if (fd < 0) return "";
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

namespace {

std::vector<std::string> build_environment(const ProcessOptions& options) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& name : options.unset_env) merged.erase(name);
  for (const auto& [k, v] : options.env) merged[k] = v;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

int decode_status(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

}  // namespace

Process::Process(ProcessOptions options) : options_(std::move(options)) {
  if (options_.argv.empty()) throw std::runtime_error("Process: empty argv");
  std::vector<std::string> env = build_environment(options_);
  std::vector<char*> argv_ptrs;
  for (auto& a : options_.argv) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  std::vector<char*> env_ptrs;
  for (auto& e : env) env_ptrs.push_back(e.data());
  env_ptrs.push_back(nullptr);
  const std::string log = options_.log_file.empty() ? "/dev/null" : options_.log_file.string();

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::close(out);
    }
    const int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    if (!options_.working_directory.empty() && ::chdir(options_.working_directory.c_str()) != 0) {
      ::_exit(126);
    }
    ::execvpe(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    std::fprintf(stderr, "exec %s failed: %s\n", argv_ptrs[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
}

Process::~Process() {
  if (pid_ > 0 && status_ < 0) stop();
}

bool Process::running() {
  if (status_ >= 0) return false;
  int raw = 0;
  const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(raw);
    return false;
  }
  return true;
}

void Process::signal(int signo) {
  if (pid_ > 0) ::kill(-pid_, signo);
}

int Process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status_;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (status_ >= 0) return status_;
  signal(SIGCONT);  // a stopped process cannot act on SIGTERM
  signal(SIGTERM);
  if (wait(grace) < 0) {
    signal(SIGKILL);
    wait(std::chrono::seconds(5));
  }
  // Reap anything left in the group.
  ::kill(-pid_, SIGKILL);
  return status_;
}

std::string Process::log() const { return read_file(options_.log_file); }

int wait_for_logged_port(Process& process, const std::function<int(std::string_view)>& port_in,
                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Whole lines only: a line still being written may hold half a port number.
    const std::string log = process.log();
    for (std::size_t start = 0, end = 0; (end = log.find('\n', start)) != std::string::npos;
         start = end + 1) {
      if (const int port = port_in(std::string_view(log).substr(start, end - start)); port > 0) {
        return port;
      }
    }
    if (!process.running() || std::chrono::steady_clock::now() >= deadline) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int wait_for_logged_port(Process& process, std::string_view marker,
                         std::chrono::milliseconds timeout) {
  return wait_for_logged_port(
      process,
      [marker](std::string_view line) {
        const std::size_t at = line.find(marker);
        if (at == std::string_view::npos) return 0;
        int port = 0;
        for (std::size_t i = at + marker.size(); i < line.size() && port < 65536; ++i) {
          if (line[i] < '0' || line[i] > '9') break;
          port = port * 10 + (line[i] - '0');
        }
        return port < 65536 ? port : 0;
      },
      timeout);
}

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env,
                          std::chrono::milliseconds timeout) {
  TempDir dir;
  ProcessOptions options;
  options.argv = argv;
  options.env = env;
  options.log_file = dir.path() / "output";
  Process process(options);
  CommandResult result;
  result.status = process.wait(timeout);
  if (result.status < 0) result.status = process.stop();
  result.output = read_file(options.log_file);
  return result;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

fs::path binary_dir() {
  const char* dir = std::getenv("EFSAS_BINARY_DIR");
  return dir ? fs::path(dir) : fs::current_path();
}

fs::path source_dir() {
  const char* dir = std::getenv("EFSAS_SOURCE_DIR");
  return dir ? fs::path(dir) : fs::current_path();
}

}  // namespace efsas::testing
