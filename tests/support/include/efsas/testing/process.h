// Test support: temporary directories, free loopback ports and child processes that the test
// starts and always stops (servers under test, moto_server, nfs-ganesha).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace efsas::testing {

// A fresh directory under $TMPDIR, removed (recursively, even if made read-only) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A TCP port on `host` that nothing listens on right now (bind to port 0, read it, close). For a
// port nothing should answer on; a server the test starts takes port 0 and names the port it
// bound (wait_for_logged_port): another test's server may take a port picked in advance first,
// and the test would then talk to that server.
int free_port(const std::string& host = "127.0.0.1");
// Polls until something accepts TCP connections on host:port, or the timeout passes.
bool wait_for_port(const std::string& host, int port, std::chrono::milliseconds timeout);
// A socket connected to 127.0.0.1:port (close it), or -1.
int connect_loopback(int port);
// Connects to 127.0.0.1:port, sends `bytes`, and reads until the server closes or `timeout`.
std::string raw_exchange(int port, const std::string& bytes,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

struct ProcessOptions {
  std::vector<std::string> argv;            // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;   // added to (or overriding) the test's environment
  std::vector<std::string> unset_env;       // removed from the environment
  std::filesystem::path log_file;           // stdout and stderr; /dev/null when empty
  std::filesystem::path working_directory;  // inherited when empty
};

// A child process in its own process group. The destructor sends SIGTERM to the group, waits up
// to 5 s, then SIGKILLs it: a test never leaves its servers running.
class Process {
 public:
  explicit Process(ProcessOptions options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Sends a signal to the whole process group.
  void signal(int signo);
  // Waits for exit; returns the exit status (128+signal if killed), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after grace; returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  std::string log() const;

 private:
  ProcessOptions options_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// Polls `process`'s log until `port_in(line)` finds a port (> 0) in one of its lines; 0 when
// the process exits or `timeout` passes first.
int wait_for_logged_port(Process& process, const std::function<int(std::string_view)>& port_in,
                         std::chrono::milliseconds timeout);
// The same for a server that writes the port right after `marker` ("Running on
// http://127.0.0.1:" ...).
int wait_for_logged_port(Process& process, std::string_view marker,
                         std::chrono::milliseconds timeout);

// Runs a command to completion and returns (exit status, combined output).
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Reads a whole file; empty string when it cannot be read.
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& content);

// Where the build put the project's binaries (EFSAS_BINARY_DIR, set by CTest) and its sources.
std::filesystem::path binary_dir();
std::filesystem::path source_dir();

}  // namespace efsas::testing
