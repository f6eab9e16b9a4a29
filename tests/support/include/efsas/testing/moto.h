// A real moto_server on a free loopback port, for integration tests against AWS APIs.
// Start one per test suite (SetUpTestSuite) and reset() between tests.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "efsas/testing/process.h"

namespace efsas::testing {

class MotoServer {
 public:
  // Starts moto_server and waits until it answers; aborts the test binary if it cannot start.
  MotoServer();
  ~MotoServer();

  // "http://127.0.0.1:PORT"
  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }
  // POST /moto-api/reset: forgets every resource.
  void reset();
  // Environment that points an AWS client (ours, boto3 or the aws CLI) at this server.
  std::map<std::string, std::string> client_env(const std::string& region = "us-east-1") const;

 private:
  TempDir dir_;
  int port_ = 0;
  std::string endpoint_;
  std::unique_ptr<Process> process_;
};

}  // namespace efsas::testing
