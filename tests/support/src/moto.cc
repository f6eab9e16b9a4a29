// moto_server as a child process on a loopback port of its choosing.
#include "efsas/testing/moto.h"

#include <cstdio>
#include <cstdlib>

namespace efsas::testing {

MotoServer::MotoServer() {
  ProcessOptions options;
  options.argv = {"moto_server", "-H", "127.0.0.1", "-p", "0"};
  options.env = {{"MOTO_IAM_LOAD_MANAGED_POLICIES", "true"}};
  options.log_file = dir_.path() / "moto.log";
  process_ = std::make_unique<Process>(options);
  port_ = wait_for_logged_port(*process_, "Running on http://127.0.0.1:", std::chrono::seconds(30));
  if (port_ == 0) {
    std::fprintf(stderr,
                 "moto_server did not start; is moto installed? (scripts/install-deps.sh)\n%s\n",
                 process_->log().c_str());
    std::abort();
  }
  endpoint_ = "http://127.0.0.1:" + std::to_string(port_);
}

MotoServer::~MotoServer() = default;

void MotoServer::reset() {
  const auto result = run_command({"curl", "-sf", "-X", "POST", endpoint_ + "/moto-api/reset"}, {},
                                  std::chrono::seconds(30));
  if (result.status != 0) {
    std::fprintf(stderr, "moto reset failed: %s\n", result.output.c_str());
    std::abort();
  }
}

std::map<std::string, std::string> MotoServer::client_env(const std::string& region) const {
  return {{"AWS_ENDPOINT_URL", endpoint_},   {"AWS_ACCESS_KEY_ID", "test"},
          {"AWS_SECRET_ACCESS_KEY", "test"}, {"AWS_REGION", region},
          {"AWS_DEFAULT_REGION", region},    {"AWS_EC2_METADATA_DISABLED", "true"}};
}

}  // namespace efsas::testing
