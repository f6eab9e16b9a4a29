// Listeners that never answer: one that leaves connections unread, one with a full accept queue.
#include "efsas/testing/silent_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

namespace efsas::testing {

SilentListener::SilentListener(Kind kind, const std::string& address, int port)
    : address_(address) {
  const auto fail = [&](const char* what) {
    error_ = std::string(what) + " " + address + ":" + std::to_string(port) + ": " +
             std::strerror(errno);
  };
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) {
    fail("cannot open a socket for");
    return;
  }
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, address.c_str(), &where.sin_addr) != 1) {
    errno = EINVAL;
    fail("not an IPv4 address:");
    return;
  }
  auto* raw = reinterpret_cast<sockaddr*>(&where);
  socklen_t length = sizeof where;
  const int backlog = kind == Kind::kDropsConnections ? 0 : 16;
  if (::bind(listener_, raw, sizeof where) != 0 || ::listen(listener_, backlog) != 0 ||
      ::getsockname(listener_, raw, &length) != 0) {
    fail("cannot listen on");
    return;
  }
  port_ = ntohs(where.sin_port);
  if (kind != Kind::kDropsConnections) return;
  // Fill the queue: these connections are never accepted.
  for (int i = 0; i < 4; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    (void)::connect(fd, raw, sizeof where);
    fillers_.push_back(fd);
  }
  // The fillers' handshakes complete asynchronously.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

SilentListener::~SilentListener() {
  for (int fd : fillers_) ::close(fd);
  if (listener_ >= 0) ::close(listener_);
}

std::string SilentListener::host_port() const { return address_ + ":" + std::to_string(port_); }

}  // namespace efsas::testing
