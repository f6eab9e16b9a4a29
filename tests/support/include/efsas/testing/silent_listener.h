// Loopback addresses that take connections and never answer, for the timeouts a client must
// apply to a peer that has gone quiet. Not thread-safe; a test owns one for its duration.
#pragma once

#include <string>
#include <vector>

namespace efsas::testing {

class SilentListener {
 public:
  enum class Kind {
    // Connections complete (the kernel accepts them into the backlog); nothing is ever read or
    // written back: a server that has hung.
    kNeverReads,
    // The accept queue is kept full, so further SYNs are dropped, as for an address that no
    // longer answers (a deleted mount target, a failed AZ, a security group): the kernel would
    // retry the connect for about two minutes.
    kDropsConnections,
  };

  // Listens on `address`:`port` (port 0: a free one). error() says why it could not.
  SilentListener(Kind kind, const std::string& address, int port = 0);
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string host_port() const;

 private:
  int listener_ = -1;
  int port_ = 0;
  std::string address_;
  std::vector<int> fillers_;
  std::string error_;
};

}  // namespace efsas::testing
