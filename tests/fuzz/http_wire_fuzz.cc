// file-service's HTTP server fed any bytes on a connection: request lines, header fields,
// chunked and fixed-length bodies, pipelined requests, all as the client sends them. The bytes go
// out on a loopback connection to the real server (then the client's side is closed, as a client
// that has said all it will); the server must answer with HTTP responses or close, never crash,
// and still answer the next client. The sandbox checks of file_service_fuzz hold as well.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "efsas/log.h"
#include "efsas/service/http_server.h"
#include "fuzz_check.h"
#include "service_sandbox.h"

namespace {

using efsas::fuzz::ServiceSandbox;

constexpr int kAnswerTimeoutMs = 8000;

efsas::service::HttpServer& server() {
  static efsas::service::HttpServer* const running = [] {
    efsas::service::ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    options.worker_threads = 2;
    options.upload_memory_limit = 8 * 1024 * 1024;
    options.header_timeout = std::chrono::seconds(2);
    options.body_timeout = std::chrono::seconds(2);
    options.idle_timeout = std::chrono::seconds(2);
    options.access_log = false;
    auto* created =
        new efsas::service::HttpServer(options, ServiceSandbox::get().service(), efsas::Logger());
    FUZZ_CHECK(created->start().ok(), "the server starts");
    return created;
  }();
  return *running;
}

// Sends `bytes`, closes the sending side and returns everything received until the server
// closes the connection.
std::string exchange(std::string_view bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0, "a socket");
  // The client closes first, so each exchange leaves a TIME_WAIT behind for a minute; tens of
  // thousands of exchanges a minute would use up one source address's ports. Each exchange
  // comes from the next address of 127.2.0.0/16 instead.
  static std::uint32_t next_source = 0;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7f020000U | (next_source++ & 0xffffU));
  FUZZ_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) == 0,
             "a loopback source address");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server().port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Non-blocking throughout: libFuzzer's timer signal interrupts blocking calls.
  FUZZ_CHECK(::fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "a non-blocking socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    FUZZ_CHECK(errno == EINPROGRESS, "the server accepts connections");
    pollfd pfd{fd, POLLOUT, 0};
    while (::poll(&pfd, 1, kAnswerTimeoutMs) < 0) FUZZ_CHECK(errno == EINTR, "poll");
    int error = 0;
    socklen_t length = sizeof(error);
    FUZZ_CHECK(::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0,
               "the server accepts connections");
  }
  std::string received;
  char buffer[65536];
  std::size_t sent = 0;
  bool sending = true;
  while (true) {
    pollfd pfd{fd, static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    const int ready = ::poll(&pfd, 1, kAnswerTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;  // libFuzzer's timer signal
    FUZZ_CHECK(ready > 0, "the server answers or closes in time");
    if ((pfd.revents & POLLIN) != 0 || (pfd.revents & (POLLHUP | POLLERR)) != 0) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;  // closed (or reset after an answer the server gave up on)
      received.append(buffer, static_cast<std::size_t>(n));
    }
    if (sending && (pfd.revents & POLLOUT) != 0) {
      if (sent < bytes.size()) {
        const ssize_t n =
            ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) sent += static_cast<std::size_t>(n);
        if (n < 0 && errno != EAGAIN) sending = false;  // the server stopped reading
      }
      if (sent == bytes.size()) {
        ::shutdown(fd, SHUT_WR);
        sending = false;
      }
    }
  }
  ::close(fd);
  return received;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ServiceSandbox& sandbox = ServiceSandbox::get();
  sandbox.populate();
  const std::string answer = exchange(std::string_view(reinterpret_cast<const char*>(data), size));
  FUZZ_CHECK(answer.empty() || answer.rfind("HTTP/1.1 ", 0) == 0,
             "what the server sends is an HTTP/1.1 response");
  const std::string health =
      exchange("GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  FUZZ_CHECK(health.rfind("HTTP/1.1 200 ", 0) == 0, "the server still answers the next client");
  sandbox.check_untouched();
  sandbox.clear();
  return 0;
}
