// Loopback HTTP server (one thread per connection, keep-alive) and the fault-injecting proxy.
#include "efsas/testing/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace efsas::testing {
namespace {

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

bool write_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads more bytes into `buffer`; false on EOF, error or when `stopping` is set.
bool read_more(int fd, std::string& buffer, const std::atomic<bool>& stopping) {
  char chunk[16384];
  while (!stopping.load()) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready < 0) return false;
    if (ready == 0) continue;
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  return false;
}

// Parses one request from the front of `buffer` when it is complete; removes it.
std::optional<RecordedRequest> take_request(std::string& buffer) {
  const auto end = buffer.find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  RecordedRequest request;
  const std::string head = buffer.substr(0, end);
  std::size_t pos = head.find("\r\n");
  const std::string line = head.substr(0, pos);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  request.method = line.substr(0, sp1);
  request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t content_length = 0;
  while (pos != std::string::npos) {
    const std::size_t start = pos + 2;
    pos = head.find("\r\n", start);
    const std::string header =
        head.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    const auto colon = header.find(':');
    if (colon == std::string::npos) continue;
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    request.headers.emplace_back(header.substr(0, colon), value);
    if (iequals(header.substr(0, colon), "Content-Length")) {
      content_length = static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10));
    }
  }
  if (buffer.size() < end + 4 + content_length) return std::nullopt;
  request.body = buffer.substr(end + 4, content_length);
  buffer.erase(0, end + 4 + content_length);
  return request;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The response with its body replaced by rewrite(request, body) and Content-Length set to
// match. A response without a Content-Length (chunked, or cut short) is returned as it is.
std::string rewrite_body(const std::string& response, const RecordedRequest& request,
                         const BodyRewrite& rewrite) {
  const auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return response;
  std::string head = response.substr(0, head_end + 2);  // ends with the last field's CRLF
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto field = lower.find("\r\ncontent-length:");
  if (field == std::string::npos) return response;
  const auto value_start = field + std::strlen("\r\ncontent-length:");
  const auto value_end = head.find("\r\n", value_start);
  const auto length = std::strtoull(head.c_str() + value_start, nullptr, 10);
  if (response.size() - head_end - 4 != length) return response;
  const std::string body = rewrite(request, response.substr(head_end + 4));
  head.replace(value_start, value_end - value_start, " " + std::to_string(body.size()));
  return head + "\r\n" + body;
}

}  // namespace

std::string RecordedRequest::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

std::string http_response(int status, const std::string& body,
                          const std::map<std::string, std::string>& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

LoopbackHttpServer::LoopbackHttpServer(HttpHandler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("LoopbackHttpServer");
    std::abort();
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  stopping_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.join();
}

void LoopbackHttpServer::accept_loop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard lock(mutex_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void LoopbackHttpServer::serve(int fd) {
  std::string buffer;
  while (!stopping_) {
    auto request = take_request(buffer);
    if (!request) {
      if (!read_more(fd, buffer, stopping_)) break;
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(*request);
    }
    const auto response = handler_(*request);
    if (!response || !write_all(fd, *response)) break;
    const auto head = response->substr(0, response->find("\r\n\r\n"));
    if (iequals(request->header("Connection"), "close") ||
        head.find("\r\nConnection: close") != std::string::npos) {
      break;
    }
  }
  ::close(fd);
}

std::vector<RecordedRequest> LoopbackHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t LoopbackHttpServer::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

void LoopbackHttpServer::clear_requests() {
  std::lock_guard lock(mutex_);
  requests_.clear();
}

FaultProxy::FaultProxy(int upstream_port)
    : upstream_port_(upstream_port),
      server_(std::make_unique<LoopbackHttpServer>(
          [this](const RecordedRequest& request) { return handle(request); })) {}

void FaultProxy::inject(Fault fault, int count) {
  std::lock_guard lock(mutex_);
  fault_ = fault;
  remaining_ = count;
}

int FaultProxy::pending_faults() const {
  std::lock_guard lock(mutex_);
  return remaining_;
}

void FaultProxy::rewrite_bodies(BodyRewrite rewrite) {
  std::lock_guard lock(mutex_);
  rewrite_ = std::move(rewrite);
}

std::optional<std::string> FaultProxy::handle(const RecordedRequest& request) {
  BodyRewrite rewrite;
  {
    std::lock_guard lock(mutex_);
    if (remaining_ > 0) {
      --remaining_;
      const std::map<std::string, std::string> json = {{"Content-Type", "application/json"},
                                                       {"x-amzn-RequestId", "fault-proxy"}};
      switch (fault_) {
        case Fault::kHttp500:
          return http_response(500, R"({"__type":"InternalFailure","message":"injected"})", json);
        case Fault::kHttp503:
          return http_response(503, R"({"__type":"ServiceUnavailable","message":"injected"})",
                               json);
        case Fault::kThrottling: {
          auto headers = json;
          headers["x-amzn-ErrorType"] = "ThrottlingException";
          return http_response(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})",
                               headers);
        }
        case Fault::kThrottlingXml:
          return http_response(
              503,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>"
              "RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error>"
              "</Errors><RequestID>fault-proxy</RequestID></Response>",
              {{"Content-Type", "text/xml"}});
        case Fault::kDrop:
          return std::nullopt;
      }
    }
    rewrite = rewrite_;
  }
  // Forward with Connection: close and relay everything upstream sends until it closes.
  const int fd = connect_loopback(upstream_port_);
  if (fd < 0) return http_response(502, "upstream unreachable");
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "Connection")) continue;
    out += name + ": " + value + "\r\n";
  }
  out += "Connection: close\r\n\r\n" + request.body;
  std::string response;
  if (write_all(fd, out)) {
    std::atomic<bool> never{false};
    while (read_more(fd, response, never)) {
    }
  }
  ::close(fd);
  if (rewrite) response = rewrite_body(response, request, rewrite);
  // The upstream closed its side; say so, so the client does not reuse this connection.
  const auto head_end = response.find("\r\n\r\n");
  if (head_end != std::string::npos && response.find("\r\nConnection:") > head_end &&
      response.find("\r\nconnection:") > head_end) {
    response.insert(head_end, "\r\nConnection: close");
  }
  return response;
}

}  // namespace efsas::testing
