// HTTP sessions and listener of file-service (Beast's parser on Asio sockets). Request handling
// itself lives in FileService; this file only moves bytes: read with limits and timeouts, hand
// off to the worker pool, write back (sendfile for local files), keep-alive, connection limit and
// graceful shutdown.
//
// Timeouts: each session keeps one deadline for whatever it waits on (the header, the body, a
// write's progress, the drain before close), and its network thread sweeps its sessions a few
// times per shortest timeout, closing the sockets of those past their deadline. Nothing per
// request touches a timer: no timer queue operations and no cancelled-timer handlers.
#include "efsas/service/http_server.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

// GCC 12 at -O3 reports "potential null pointer dereference" inside Asio's executor comparisons
// once they are inlined here; the code is Boost's and correct, so the warning is off for this file.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace efsas::service {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::string_view_literals;
// Each connection lives on one network thread's io_context: its executor type is concrete, so no
// handler pays for type erasure.
using Executor = asio::io_context::executor_type;
using Socket = tcp::socket::rebind_executor<Executor>::other;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;

namespace {

constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kSocketRead = 64 * 1024;      // at most, per read from a connection
constexpr std::size_t kIdleBufferBytes = 8 * 1024;  // kept by a connection between requests
constexpr std::size_t kReadChunk = 256 * 1024;      // per read from a file without a descriptor
constexpr std::size_t kSendfileChunk = 4 * 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Spooled body bytes are handed to a worker to write in batches of at least this much.
constexpr std::size_t kSpoolFlushBytes = 256 * 1024;
// A body's buffer in memory starts at this size (or its declared length, if smaller).
constexpr std::uint64_t kFirstBodyBuffer = 64 * 1024;
constexpr std::string_view kNoRoomForBody =
    "too many uploads in progress (over the upload memory and spool limits); retry later";

// The metrics route of an answer the server gives itself (a timeout, a malformed request).
std::string route_of(std::string_view target) {
  return target.starts_with("/files/") ? "/files/{path}" : "other";
}

// The Date header, formatted once per second per network thread.
const std::string& http_date_now(const Clock& clock) {
  thread_local std::chrono::seconds last{-1};
  thread_local std::string text;
  const SystemTime now = clock.now();
  const auto second = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  if (second != last) {
    last = second;
    text = format_http_date(now);
  }
  return text;
}

// Appends "name: value\r\n"; a CR or LF in a value becomes a space, so no value can end the
// header early.
void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": "sv;
  const std::size_t start = out.size();
  out += value;
  if (std::memchr(value.data(), '\r', value.size()) != nullptr ||
      std::memchr(value.data(), '\n', value.size()) != nullptr) {
    std::replace_if(
        out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
        [](char c) { return c == '\r' || c == '\n'; }, ' ');
  }
  out += "\r\n"sv;
}

void append_number(std::string& out, std::uint64_t value) {
  std::array<char, 24> digits{};
  char* end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), static_cast<std::size_t>(end - digits.data()));
}

// Writes the status line and header of a response into `out` (its capacity is reused). An
// HTTP/1.0 client keeps the connection only when told so (RFC 9112 9.3, and clients such as ab
// look for it); an HTTP/1.1 one unless told otherwise.
void serialize_head(std::string& out, const Response& response, std::string_view date,
                    bool keep_alive, bool with_length, bool http10 = false) {
  out.clear();
  out += "HTTP/1.1 "sv;
  append_number(out, static_cast<std::uint64_t>(response.status));
  out += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(response.status));
  out.append(reason.data(), reason.size());
  out += "\r\n"sv;
  for (const auto& [name, value] : response.headers) append_field(out, name, value);
  out += "Server: file-service\r\nDate: "sv;
  out += date;
  out += "\r\n"sv;
  if (!keep_alive) {
    out += "Connection: close\r\n"sv;
  } else if (http10) {
    out += "Connection: keep-alive\r\n"sv;
  }
  if (with_length) {
    out += "Content-Length: "sv;
    append_number(out, response.content_length());
    out += "\r\n"sv;
  }
  out += "\r\n"sv;
}

// How long accepting waits when the process is out of descriptors or memory.
constexpr std::chrono::milliseconds kAcceptPause{100};

// How often a network thread looks for sessions past their deadline: an eighth of the shortest
// timeout, between 10 ms and 1 s. A timeout fires at most that much late.
std::chrono::milliseconds sweep_interval(const ServerOptions& options) {
  const auto shortest =
      std::min({options.header_timeout, options.body_timeout, options.idle_timeout});
  return std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(shortest / 8),
                    std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

}  // namespace

// What a session keeps of the request it reads. The strings and the field list keep their
// capacity from one request to the next, so a keep-alive connection reads its requests without
// allocating. What one large header made them grow to (up to 64 KiB of fields) is let go before
// the next request, so an idle connection holds only a few KiB. The body moves out with the
// request it belongs to.
struct IncomingRequest {
  static constexpr std::size_t kKeptFields = 32;
  static constexpr std::size_t kKeptBytes = 4096;  // per string

  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> fields;  // lower-case name, value
  std::size_t field_count = 0;                              // the first field_count are this one's
  int version = 11;                                         // 10 for HTTP/1.0
  int hosts = 0;                                            // Host fields
  bool expect_continue = false;
  std::string body;   // in memory; a body that does not fit goes to the session's spool file
  bool grew = false;  // a field list or a string grew past what is kept

  void clear() {
    if (grew) {
      *this = IncomingRequest{};
      return;
    }
    method.clear();
    target.clear();
    field_count = 0;
    version = 11;
    hosts = 0;
    expect_continue = false;
    body.clear();
  }
};

// Where the parser hands body bytes as they arrive: false refuses the body.
class BodySink {
 public:
  virtual bool take_body(std::string_view data) = 0;

 protected:
  ~BodySink() = default;
};

// Beast's HTTP/1 request parser, keeping what it parses in an IncomingRequest (Beast's own
// request_parser builds a field container that allocates for every field), and handing the
// body to a sink. Limits, chunked bodies and keep-alive rules are Beast's.
class RequestParser final : public http::basic_parser<true> {
 public:
  RequestParser(IncomingRequest& request, BodySink& sink) : request_(request), sink_(sink) {
    request_.clear();
  }

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code&) override {
    request_.version = version;
    request_.method.assign(method.data(), method.size());
    const std::string_view origin = origin_form(std::string_view(target.data(), target.size()));
    request_.target.assign(origin.data(), origin.size());
    request_.grew |= method.size() + target.size() > IncomingRequest::kKeptBytes;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = http::error::bad_version;  // a request parser never sees a status line
  }
  void on_field_impl(http::field field, beast::string_view name, beast::string_view value,
                     beast::error_code& ec) override {
    // A trailer field (after a chunked body) is not merged into the header (RFC 9110 6.5.1): an
    // If-Match or Range there would pass any proxy that checks headers.
    if (header_done_) return;
    if (field == http::field::transfer_encoding) {
      // "chunked", once, is the only coding served. Beast frames a body whose final coding is not
      // chunked ("chunked, chunked", "gzip") as empty, and the bytes after the header would be
      // read as the next request, where a proxy in front may frame it otherwise (RFC 9112 6.3:
      // 400 and close); HTTP/1.0 has no Transfer-Encoding (6.1).
      if (transfer_encoding_seen_ || request_.version < 11 || !beast::iequals(value, "chunked")) {
        ec = http::error::bad_transfer_encoding;
        return;
      }
      transfer_encoding_seen_ = true;
    }
    if (field == http::field::host) ++request_.hosts;
    if (field == http::field::expect && beast::iequals(value, "100-continue")) {
      // An HTTP/1.0 client does not wait for 100 Continue, and must not be sent one (RFC 9110
      // 10.1.1).
      request_.expect_continue = request_.version >= 11;
    }
    auto& fields = request_.fields;
    if (request_.field_count == fields.size()) fields.emplace_back();
    auto& [lower_name, field_value] = fields[request_.field_count++];
    lower_name.resize(name.size());
    std::transform(name.begin(), name.end(), lower_name.begin(), [](char c) {
      return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    field_value.assign(value.data(), value.size());
    request_.grew |= request_.field_count > IncomingRequest::kKeptFields ||
                     value.size() > IncomingRequest::kKeptBytes ||
                     name.size() > IncomingRequest::kKeptBytes;
  }
  void on_header_impl(beast::error_code&) override { header_done_ = true; }
  // Beast has checked the length against the body limit already. Nothing is set aside for it:
  // memory is taken as bytes arrive, so a client that declares much and sends nothing holds
  // nothing.
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view data, beast::error_code& ec) override {
    return take(data, ec);
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data,
                                 beast::error_code& ec) override {
    return take(data, ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  std::size_t take(beast::string_view data, beast::error_code& ec) {
    if (!sink_.take_body(std::string_view(data.data(), data.size()))) {
      ec = boost::system::errc::make_error_code(boost::system::errc::no_buffer_space);
      return 0;
    }
    return data.size();
  }

  IncomingRequest& request_;
  BodySink& sink_;
  bool header_done_ = false;
  bool transfer_encoding_seen_ = false;
};

class Session;

// One event loop per network thread: a connection stays on the loop that accepted it, so its
// handlers never need a strand and never wake another network thread. The loop's sessions are
// listed for the deadline sweep and for shutdown; the list is touched on the loop's thread only.
struct Loop {
  Loop() : context(1), sweep_timer(context) {}
  asio::io_context context;
  Timer sweep_timer;
  std::vector<std::weak_ptr<Session>> sessions;
};

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

  Impl(ServerOptions o, FileService& s, Logger l)
      : options(std::move(o)),
        service(s),
        logger(std::move(l)),
        loops(make_loops(options.io_threads)),
        workers(static_cast<std::size_t>(std::max(1, options.worker_threads))),
        acceptor(loops.front()->context),
        accept_pause(loops.front()->context) {
    for (auto& loop : loops) guards.push_back(asio::make_work_guard(loop->context));
  }

  static std::vector<std::unique_ptr<Loop>> make_loops(int count) {
    std::vector<std::unique_ptr<Loop>> out;
    for (int i = 0; i < std::max(1, count); ++i) out.push_back(std::make_unique<Loop>());
    return out;
  }

  Loop& next_loop() { return *loops[next_loop_index++ % loops.size()]; }
  void do_accept();
  void on_accept(Loop& loop, beast::error_code ec, Socket socket);
  void sweep(Loop& loop);
  void join_loops();
  bool join_workers(std::optional<std::chrono::steady_clock::time_point> deadline);
  void close_sessions();

  ServerOptions options;
  FileService& service;
  Logger logger;
  std::vector<std::unique_ptr<Loop>> loops;
  asio::thread_pool workers;
  tcp::acceptor acceptor;
  Timer accept_pause;                // on the acceptor's loop
  std::uint64_t failed_accepts = 0;  // since accepting last worked; acceptor's loop only
  std::vector<WorkGuard> guards;
  std::size_t next_loop_index = 0;  // used on the acceptor's loop only
  std::vector<std::thread> threads;
  std::thread shutdown_thread;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::uint16_t bound_port = 0;
  // The end of the shutdown's grace period, set by shutdown() before its thread starts.
  std::chrono::steady_clock::time_point grace_end{};
  // The worker pool is joined on a thread of its own, so that wait() can give up on a worker
  // blocked in a back-end call (a hung mount) when the grace period is over.
  std::thread workers_joiner;
  std::mutex workers_mutex;
  std::condition_variable workers_done_cv;
  bool workers_done = false;  // under workers_mutex
};

class Session final : public std::enable_shared_from_this<Session>, public BodySink {
 public:
  Session(Socket socket, std::shared_ptr<HttpServer::Impl> server)
      : socket_(std::move(socket)),
        server_(std::move(server)),
        request_timer_(socket_.get_executor()) {
    beast::error_code ec;
    const auto endpoint = socket_.remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  ~Session() {
    worker_holds_body_ = false;  // no worker refers to this session any more
    release_upload();
    release_connection();
    drop_response();
  }

  // Runs on the session's loop.
  void start() { do_read(); }

  // Graceful shutdown, on the session's loop: a connection waiting for its next request is
  // closed now; one with a request in progress finishes it and then closes.
  void close_if_idle() {
    if (idle_) close();
  }

  // After the loops have stopped: ends whatever the session waits on.
  void close_now() {
    clear_deadline();
    request_timer_.cancel();
    close_socket();
  }

  // The sweep, on the session's loop: a session past its deadline loses its socket, which ends
  // whatever it waits on with operation_aborted.
  void close_if_past(SteadyTime now) {
    if (now < deadline_) return;
    deadline_ = SteadyTime::max();
    close_socket();
  }

 private:
  const ServerOptions& options() const { return server_->options; }
  FileService& service() const { return server_->service; }

  // Closes the socket and gives its place under MAX_CONNECTIONS back at once: the session itself
  // may live a little longer, until the handlers its close aborts have run.
  void close_socket() {
    release_connection();  // first: the client may connect again as soon as it sees the close
    beast::error_code ignored;
    socket_.close(ignored);
  }
  void release_connection() {
    if (counted_) server_->connections.fetch_sub(1);
    counted_ = false;
  }

  void set_deadline(SteadyTime::duration timeout) {
    deadline_ = std::chrono::steady_clock::now() + timeout;
  }
  void clear_deadline() { deadline_ = SteadyTime::max(); }

  void do_read() {
    if (server_->stopping) return close();
    parser_.emplace(incoming_, *this);
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(service().options().body_limit);
    idle_ = buffer_.size() == 0;
    set_deadline(first_ ? options().header_timeout : options().idle_timeout);
    parse_header();
  }

  // Parses what the buffer holds (a pipelined request may be there already) and reads more
  // until the header is complete.
  void parse_header() {
    beast::error_code ec;
    if (buffer_.size() > 0) {
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec != http::error::need_more) return on_header(ec);
    }
    read_more<&Session::parse_header>();
  }

  // Reads what the socket has into the buffer, then goes on with `Next`. A closed or failed
  // connection just closes: there is nobody to answer. A header is read as it comes (Beast's
  // read_size: what the buffer has room for, 512 bytes at least); a body kSocketRead at a time,
  // not the 512 bytes a read that the buffer's room would be once the parser has taken all.
  template <void (Session::*Next)()>
  void read_more(bool body = false) {
    socket_.async_read_some(
        buffer_.prepare(body ? kSocketRead : beast::read_size(buffer_, kSocketRead)),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          if (ec) return self->close();
          self->buffer_.commit(n);
          ((*self).*Next)();
        });
  }

  void on_header(beast::error_code ec) {
    idle_ = false;
    first_ = false;
    start_ = service().clock().steady_now();
    bytes_in_ = 0;
    if (ec) {
      if (ec == http::error::header_limit) {
        return fail_fast(431, "HeaderTooLarge", "the request header is over the limit");
      }
      if (ec == http::error::body_limit) {  // Content-Length alone is over the limit
        return fail_fast(413, "PayloadTooLarge",
                         "the body is over the limit of " +
                             std::to_string(service().options().body_limit) + " bytes");
      }
      return fail_fast(400, "BadRequest", "malformed request: " + ec.message());
    }
    // RFC 9112 3.2: an HTTP/1.1 request without a Host field, or any with more than one, is 400.
    if (incoming_.hosts > 1 || (incoming_.version >= 11 && incoming_.hosts == 0)) {
      return fail_fast(400, "BadRequest",
                       incoming_.hosts > 1 ? "malformed request: more than one Host field"
                                           : "malformed request: an HTTP/1.1 request needs Host");
    }
    if (incoming_.expect_continue && !parser_->is_done()) {
      // The client waits for "100 Continue" before it sends the body: when the header alone
      // decides a 4xx, or the body cannot be held now, say so instead of having it send a body
      // that is thrown away.
      if (auto refusal = service().refuse_before_body(header_request())) {
        keep_alive_ = false;  // the body it declared is never read
        drain_ = true;        // unless it sends it anyway (after its wait for 100 runs out)
        return respond(std::move(*refusal));
      }
      if (const auto length = parser_->content_length(); length && !may_hold(*length)) {
        return fail_fast(503, "Unavailable", std::string(kNoRoomForBody));
      }
    }
    if (parser_->is_done()) return on_body();
    set_deadline(options().body_timeout);  // for the whole body, however it trickles in
    if (incoming_.expect_continue) {
      asio::async_write(socket_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                          if (write_ec) return self->close();
                          self->parse_body();
                        });
      return;
    }
    parse_body();
  }

  void parse_body() {
    parser_->eager(true);
    beast::error_code ec;
    if (buffer_.size() > 0 && !parser_->is_done()) {
      buffer_.consume(parser_->put(buffer_.data(), ec));
      if (ec && ec != http::error::need_more) return on_body_error(ec);
    }
    if (const std::uint64_t pending = spool_pending_bytes();
        pending > 0 && (pending >= kSpoolFlushBytes || parser_->is_done())) {
      return flush_spool();
    }
    if (parser_->is_done()) return on_body();
    // What the parser leaves in the buffer is a chunk-size line or a trailer not yet complete:
    // Beast 1.81 puts no limit on either, so one connection could make it grow for as long as
    // it sends.
    if (buffer_.size() > kHeaderLimit) {
      return fail_fast(400, "BadRequest", "malformed request: a chunk line or trailer too long");
    }
    read_more<&Session::parse_body>(/*body=*/true);
  }

  // Spooled bytes are written by a worker: a write into the page cache can wait for writeback
  // (the kernel throttles writers past its dirty limit), and a network thread must not wait.
  // Reading stops until the write is done, so a session holds at most one batch in memory. The
  // body's deadline is the client's, and stops while the batch waits for a worker and the disk;
  // that wait is bounded by REQUEST_TIMEOUT_MS instead (workers all held by a hung mount), past
  // which the connection closes and the upload goes no further.
  void flush_spool() {
    std::vector<std::string> pieces;
    pieces.swap(spool_pending_);
    const SteadyTime now = std::chrono::steady_clock::now();
    body_time_left_ = deadline_ == SteadyTime::max()
                          ? std::nullopt
                          : std::optional(std::max(deadline_ - now, SteadyTime::duration::zero()));
    set_deadline(options().request_timeout);
    asio::post(server_->workers,
               [self = shared_from_this(), file = spool_, pieces = std::move(pieces)]() mutable {
                 int error = 0;
                 std::uint64_t written = 0;
                 for (std::string& piece : pieces) {
                   std::string_view rest = piece;
                   while (!rest.empty() && error == 0) {
                     const ssize_t n = ::write(file->fd(), rest.data(), rest.size());
                     if (n < 0 && errno == EINTR) continue;
                     if (n <= 0) {
                       error = n < 0 ? errno : EIO;
                       break;
                     }
                     rest.remove_prefix(static_cast<std::size_t>(n));
                     written += static_cast<std::uint64_t>(n);
                   }
                   std::string().swap(piece);
                 }
                 asio::post(self->socket_.get_executor(),
                            [self, error, written] { self->on_spool_flushed(error, written); });
               });
  }

  void on_spool_flushed(int error, std::uint64_t written) {
    // The session closed meanwhile (and gave everything back), or lost its socket to the
    // REQUEST_TIMEOUT_MS above: nobody is there to answer, so the body goes no further.
    if (!spool_ || !socket_.is_open()) return;
    if (body_time_left_) {
      set_deadline(*body_time_left_);
    } else {
      clear_deadline();
    }
    spool_->set_size(spool_->size() + written);
    // What the body held in memory before it moved to the spool is on disk now.
    if (memory_charged_ > 0) uploads().memory_bytes.fetch_sub(std::exchange(memory_charged_, 0));
    if (error != 0) {
      body_failure_ = std::string("cannot spool the body in ") + options().spool_dir + ": " +
                      std::strerror(error);
      return on_body_error(boost::system::errc::make_error_code(boost::system::errc::io_error));
    }
    parse_body();
  }

  void on_body_error(beast::error_code ec) {
    if (!body_failure_.empty()) {
      std::string message = std::exchange(body_failure_, {});
      return fail_fast(503, "Unavailable", message);
    }
    if (ec == http::error::body_limit) {
      return fail_fast(413, "PayloadTooLarge", "the body is over the limit");
    }
    return fail_fast(400, "BadRequest", "malformed request: " + ec.message());
  }

  // The request as its line and header describe it, with no body yet.
  Request header_request() const {
    Request request;
    request.method = incoming_.method;
    request.target = incoming_.target;
    for (std::size_t i = 0; i < incoming_.field_count; ++i) {
      const auto& [name, value] = incoming_.fields[i];
      auto [it, inserted] = request.headers.emplace(name, value);
      if (!inserted) {
        it->second += ", ";
        it->second += value;
      }
    }
    return request;
  }

  void on_body() {
    clear_deadline();
    Request request = header_request();
    if (spool_) {
      uploads().spooled.fetch_add(1);
      bytes_in_ = spool_->size();
      request.spooled = std::move(spool_);
    } else {
      bytes_in_ = incoming_.body.size();
      if (!incoming_.body.empty()) {
        request.body = std::make_shared<const std::string>(std::move(incoming_.body));
      }
    }
    keep_alive_ = parser_->keep_alive();
    // Routes that read memory only are answered right here, always: a health check must not
    // wait behind file I/O in the worker pool. Back ends on local disks cannot hang on a network:
    // a read is handled right here too, as a static web server would, and file bodies of any
    // size go out with sendfile. Writes (their fsyncs take milliseconds even on a local disk),
    // listings and everything on other storage go to the worker pool, bounded by the request
    // timeout.
    const FileService::Work work = service().work_of(request);
    const bool quick_read = work == FileService::Work::kRead && options().inline_local_io &&
                            service().storage_is_local();
    inline_ = work == FileService::Work::kMemory || quick_read;
    if (inline_) {
      request.zero_copy = quick_read;
      return respond(handle(request));
    }
    handling_ = true;
    worker_holds_body_ = true;

    request_timer_.expires_after(options().request_timeout);
    request_timer_.async_wait([self = shared_from_this()](beast::error_code timer_ec) {
      if (timer_ec || !self->handling_) return;
      self->handling_ = false;
      self->keep_alive_ = false;
      Response timeout = json_error(504, "Timeout", "the mount target did not answer in time");
      timeout.route = route_of(self->incoming_.target);
      self->respond(std::move(timeout));
    });
    asio::post(server_->workers, [self = shared_from_this(),
                                  request = std::make_shared<const Request>(
                                      std::move(request))]() mutable {
      Response response = self->handle(*request);
      request.reset();  // the body's memory goes before its share of the upload budget does
      asio::post(self->socket_.get_executor(), [self, response = std::move(response)]() mutable {
        self->worker_holds_body_ = false;
        if (!self->handling_) {
          // The 504 went out already; the late answer goes as any answer does (its reader's
          // close, a round trip to the slow target that caused the 504, on a worker).
          self->let_go_of(response);
          return self->release_upload();
        }
        self->handling_ = false;
        self->request_timer_.cancel();
        self->respond(std::move(response));
      });
    });
  }

  // A body's bytes as they arrive. They stay in memory while the server's upload memory has
  // room: the body's buffer takes from it as it grows (doubling, up to the declared length).
  // When it has none, the body moves to an unlinked file in the spool directory, which takes
  // from the spool budget byte by byte (written in batches by a worker, see flush_spool). Both
  // shares are held until the request is answered, or, when the answer was a 504, until the
  // worker still handling it lets go of the body.
  bool take_body(std::string_view data) override {
    if (data.empty()) return true;
    if (spool_) return queue_spool(data);
    std::string& body = incoming_.body;
    const std::uint64_t needed = body.size() + data.size();
    if (needed > memory_charged_) {
      std::uint64_t want = std::max({needed, 2 * memory_charged_, kFirstBodyBuffer});
      const std::uint64_t most = parser_->content_length().value_or(service().options().body_limit);
      want = std::max(needed, std::min(want, most));
      if (!take_share(uploads().memory_bytes, options().upload_memory_limit,
                      want - memory_charged_)) {
        return spill_to_spool(data);
      }
      memory_charged_ = want;
      // Into a new buffer of exactly that size: growing a string in place may allocate up to
      // twice its old capacity, more than was charged.
      std::string grown;
      grown.reserve(static_cast<std::size_t>(want));
      grown.append(body);
      body.swap(grown);
    }
    body.append(data);
    return true;
  }

  static bool take_share(std::atomic<std::uint64_t>& used, std::uint64_t limit, std::uint64_t n) {
    const std::uint64_t before = used.fetch_add(n);
    if (before + n <= limit) return true;
    used.fetch_sub(n);
    return false;
  }

  // Moves what the body has so far, and `data`, to a new spool file (written by the next flush;
  // the memory they hold stays charged until then). The body's buffer is handed on as it is:
  // appending to it would make it grow.
  bool spill_to_spool(std::string_view data) {
    if (!take_spool_share(incoming_.body.size() + data.size())) return false;
    auto file = open_spool_file(options().spool_dir);
    if (!file.ok()) {
      body_failure_ = "cannot hold the body: " + file.error().message;
      return false;
    }
    spool_ = std::make_shared<SpooledBody>(*file, 0);
    spool_pending_.push_back(std::exchange(incoming_.body, {}));
    spool_pending_.emplace_back();  // what arrives next goes here
    append_spool(data);
    return true;
  }

  bool queue_spool(std::string_view data) {
    if (!take_spool_share(data.size())) return false;
    append_spool(data);
    return true;
  }

  void append_spool(std::string_view data) {
    if (spool_pending_.empty()) spool_pending_.emplace_back();
    spool_pending_.back().append(data);
  }

  // At most two pieces: the body's buffer when it moved to the spool, and what came after.
  std::uint64_t spool_pending_bytes() const {
    std::uint64_t n = 0;
    for (const std::string& piece : spool_pending_) n += piece.size();
    return n;
  }

  bool take_spool_share(std::uint64_t n) {
    if (!take_share(uploads().spool_bytes, options().spool_limit, n)) {
      body_failure_ = kNoRoomForBody;
      return false;
    }
    spool_charged_ += n;
    return true;
  }

  // Whether a body of `length` bytes may find room now, in memory or in the spool: asked before
  // answering "100 Continue", so that a client is not asked for a body that is refused at once.
  bool may_hold(std::uint64_t length) const {
    return uploads().memory_bytes.load() + std::min(length, kFirstBodyBuffer) <=
               options().upload_memory_limit ||
           uploads().spool_bytes.load() + length <= options().spool_limit;
  }

  Metrics::Uploads& uploads() const { return service().metrics().uploads(); }

  void release_upload() {
    if (worker_holds_body_) return;
    if (memory_charged_ > 0) uploads().memory_bytes.fetch_sub(memory_charged_);
    memory_charged_ = 0;
    if (spool_charged_ > 0) uploads().spool_bytes.fetch_sub(spool_charged_);
    spool_charged_ = 0;
    spool_.reset();  // a flush in progress keeps the file until it is done
    std::vector<std::string>().swap(spool_pending_);
    std::string().swap(incoming_.body);  // a body not handed on (a refusal, a failure) goes too
  }

  Response handle(const Request& request) const {
    try {
      return service().handle_request(request);
    } catch (const std::exception& e) {
      return json_error(500, "Internal", e.what());
    }
  }

  void fail_fast(int status, std::string_view code, const std::string& message) {
    keep_alive_ = false;
    drain_ = true;  // the client may still be sending: read it away so it sees the answer
    Response response = json_error(status, code, message);
    response.route = route_of(incoming_.target);
    respond(std::move(response));
  }

  // Puts the socket in non-blocking mode for direct send/sendfile calls (once per connection).
  bool make_non_blocking() {
    if (!non_blocking_) {
      beast::error_code ec;
      socket_.native_non_blocking(true, ec);
      non_blocking_ = !ec;
    }
    return non_blocking_;
  }

  void respond(Response response) {
    // The body has been handled: its share of the upload budget goes back before the client can
    // see the answer (and send its next upload).
    release_upload();
    response_ = std::move(response);
    // Whatever built the answer (an error, a 504, a refusal before the body was read), a HEAD
    // gets the header alone: a body would be read as the start of the next response.
    if (incoming_.method == "HEAD") response_.head = true;
    if (server_->stopping) keep_alive_ = false;
    const bool no_body = response_.status == 204 || response_.status == 304;
    serialize_head(head_, response_, http_date_now(service().clock()), keep_alive_, !no_body,
                   incoming_.version < 11);
    if (response_.stream && !response_.head && response_.stream->length > 0) return send_head();
    if (response_.head || no_body) response_.body.clear();
    bytes_out_ = response_.body.size();
    set_deadline(options().idle_timeout);
    // Header and body leave in one gathered write.
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head_),
                                                    asio::buffer(response_.body)};
    asio::async_write(socket_, buffers,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->finish();
                      });
  }

  // The header of a streamed body. Before sendfile it goes out with MSG_MORE, so the header and
  // the first file bytes share a segment; whatever the socket does not take at once is written
  // asynchronously.
  void send_head() {
    if (response_.stream->reader->native_fd() >= 0) {
      const bool ready = make_non_blocking();
      const ssize_t n = !ready ? -1
                               : ::send(socket_.native_handle(), head_.data(), head_.size(),
                                        MSG_MORE | MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(head_.size())) return start_stream();
      if (n < 0 && errno != EAGAIN && errno != EINTR) return close();
      if (n > 0) head_.erase(0, static_cast<std::size_t>(n));
    }
    set_deadline(options().idle_timeout);
    asio::async_write(socket_, asio::buffer(head_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->start_stream();
                      });
  }

  void start_stream() {
    offset_ = response_.stream->offset;
    remaining_ = response_.stream->length;
    bytes_out_ = 0;
    if (response_.stream->reader->native_fd() >= 0 && make_non_blocking()) return pump_sendfile();
    read_chunk();
  }

  enum class SendResult { kDone, kWouldBlock, kFailed };

  // Sends from the file until done or the socket is full.
  SendResult send_file_data() {
    const int socket_fd = socket_.native_handle();
    const int file_fd = response_.stream->reader->native_fd();
    while (remaining_ > 0) {
      auto offset = static_cast<off_t>(offset_);
      const ssize_t n =
          ::sendfile(socket_fd, file_fd, &offset,
                     static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, kSendfileChunk)));
      if (n > 0) {
        offset_ += static_cast<std::uint64_t>(n);
        remaining_ -= static_cast<std::uint64_t>(n);
        bytes_out_ += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return (n < 0 && errno == EAGAIN) ? SendResult::kWouldBlock : SendResult::kFailed;
    }
    return SendResult::kDone;
  }

  // Unless the storage is local, sendfile runs on the worker pool: a file on a hung mount blocks
  // a worker, never the loop.
  void pump_sendfile() {
    if (inline_) return on_sendfile(send_file_data());
    // A worker uses the socket now: no sweep may close it meanwhile (its descriptor number could
    // be reused under the worker). The socket is non-blocking; only reading the file can wait.
    clear_deadline();
    asio::post(server_->workers, [self = shared_from_this()] {
      const SendResult result = self->send_file_data();
      asio::post(self->socket_.get_executor(), [self, result] { self->on_sendfile(result); });
    });
  }

  void on_sendfile(SendResult result) {
    if (result == SendResult::kDone) return finish();
    if (result == SendResult::kFailed) return close();
    set_deadline(options().idle_timeout);
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      self->pump_sendfile();
    });
  }

  std::size_t read_file_data() {
    auto n = response_.stream->reader->read_at(offset_, chunk_);
    return n.ok() ? *n : 0;
  }

  void read_chunk() {
    chunk_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, kReadChunk)));
    if (inline_) return write_chunk(read_file_data());
    asio::post(server_->workers, [self = shared_from_this()] {
      const std::size_t got = self->read_file_data();
      asio::post(self->socket_.get_executor(), [self, got] { self->write_chunk(got); });
    });
  }

  void write_chunk(std::size_t got) {
    if (got == 0) return close();  // headers are out: all we can do is cut it short
    set_deadline(options().idle_timeout);
    asio::async_write(socket_, asio::buffer(chunk_.data(), got),
                      [self = shared_from_this()](beast::error_code ec, std::size_t written) {
                        if (ec) return self->close();
                        self->offset_ += written;
                        self->remaining_ -= written;
                        self->bytes_out_ += written;
                        if (self->remaining_ == 0) return self->finish();
                        self->read_chunk();
                      });
  }

  void finish() {
    release_upload();
    const auto latency = service().clock().steady_now() - start_;
    service().metrics().record_request(response_.route, incoming_.method, response_.status,
                                       response_.mount_target, bytes_in_, bytes_out_, latency);
    if (options().access_log) {
      server_->logger.info(
          "request", {{"method", incoming_.method},
                      {"target", incoming_.target},
                      {"status", response_.status},
                      {"bytes_in", bytes_in_},
                      {"bytes_out", bytes_out_},
                      {"duration_ms", std::chrono::duration<double, std::milli>(latency).count()},
                      {"mount_target", response_.mount_target},
                      {"remote", remote_}});
    }
    drop_response();
    if (!keep_alive_) return close();
    if (buffer_.size() > 0) {
      // A pipelined request is in the buffer already. It is parsed from the loop, not from here:
      // a response sent at once (local storage, inline) would otherwise parse the next one inside
      // this call, as deep as one read holds requests (some 1,600 of the shortest in 64 KiB), and
      // other connections on the loop would wait for them all.
      asio::post(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
      return;
    }
    // An idle connection holds no large buffer: a body's reads grew this one to kSocketRead, and
    // a large download's chunk to kReadChunk.
    if (buffer_.capacity() > kIdleBufferBytes) buffer_.shrink_to_fit();
    if (chunk_.capacity() > kIdleBufferBytes) std::vector<char>().swap(chunk_);
    do_read();
  }

  // A file reader on network storage closes with a round trip (an NFS CLOSE): a worker lets go
  // of it, not the network thread, which a slow or hung mount target would otherwise stall with
  // every connection it serves.
  void let_go_of(Response& response) {
    if (response.stream && response.stream->reader && !inline_) {
      asio::post(server_->workers,
                 [reader = std::move(response.stream->reader)]() mutable { reader.reset(); });
    }
    response = Response{};
  }
  void drop_response() { let_go_of(response_); }

  void close() {
    release_upload();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (drain_ && !ec) {
      // Closing with unread input would reset the connection and could destroy the response
      // before the client reads it; discard what it sends for a short while first.
      drain_ = false;
      set_deadline(std::chrono::seconds(1));
      return drain();
    }
    clear_deadline();
    close_socket();
  }

  void drain() {
    drain_buffer_.resize(64 * 1024);
    socket_.async_read_some(asio::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close_socket();
                              self->drain();
                            });
  }

  Socket socket_;
  std::shared_ptr<HttpServer::Impl> server_;
  Timer request_timer_;                      // the worker pool's answer (504 when late)
  SteadyTime deadline_ = SteadyTime::max();  // of what the session waits on now
  bool counted_ = true;                      // holds a place under MAX_CONNECTIONS
  beast::flat_buffer buffer_;
  IncomingRequest incoming_;
  std::optional<RequestParser> parser_;
  std::string remote_;
  bool first_ = true;
  bool idle_ = false;
  bool keep_alive_ = false;
  bool handling_ = false;
  bool worker_holds_body_ = false;  // a worker has the request (and its body) still
  bool inline_ = false;             // this request's file I/O runs on the network thread
  bool non_blocking_ = false;
  std::uint64_t memory_charged_ = 0;        // this request's share of the upload memory
  std::uint64_t spool_charged_ = 0;         // and of the spool
  std::shared_ptr<SpooledBody> spool_;      // the body's spool file until the request takes it
  std::vector<std::string> spool_pending_;  // bytes for it that the next flush writes, in order
  std::optional<SteadyTime::duration> body_time_left_;  // of the body's deadline, during a flush
  std::string body_failure_;  // why the body was refused (503), set by take_body
  bool drain_ = false;
  std::vector<char> drain_buffer_;
  SteadyTime start_{};
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  Response response_;
  std::string head_;  // the serialized status line and header of response_
  std::uint64_t offset_ = 0;
  std::uint64_t remaining_ = 0;
  std::vector<char> chunk_;
};

void HttpServer::Impl::do_accept() {
  Loop& loop = next_loop();
  acceptor.async_accept(loop.context.get_executor(),
                        [self = shared_from_this(), &loop](beast::error_code ec, Socket socket) {
                          self->on_accept(loop, ec, std::move(socket));
                        });
}

void HttpServer::Impl::on_accept(Loop& loop, beast::error_code ec, Socket socket) {
  if (!acceptor.is_open() || stopping) return;
  if (ec) {
    // Out of descriptors or memory, the connection stays in the backlog and accepting again
    // at once fails at once: a loop that burns a core and floods the log. Wait a little, and
    // say so once until accepting works again.
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
        ec == asio::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system) {
      if (failed_accepts++ == 0) {
        logger.warn("accept failed: pausing new connections",
                    {{"error", ec.message()},
                     {"pause_ms", kAcceptPause.count()},
                     {"connections", connections.load()}});
      }
      accept_pause.expires_after(kAcceptPause);
      accept_pause.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->do_accept();
      });
      return;
    }
    logger.warn("accept failed", {{"error", ec.message()}});
    return do_accept();
  }
  if (failed_accepts > 0) {
    logger.info("accepting connections again", {{"failed_accepts", failed_accepts}});
    failed_accepts = 0;
  }
  if (connections.load() >= options.max_connections) {
    // Answer at once without a session, built as every other answer is; a full send buffer just
    // loses the courtesy.
    Response refusal = json_error(503, "Unavailable", "too many connections; retry later");
    std::string bytes;
    serialize_head(bytes, refusal, http_date_now(service.clock()), /*keep_alive=*/false,
                   /*with_length=*/true);
    bytes += refusal.body;
    ::send(socket.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    return do_accept();
  }
  connections.fetch_add(1);
  socket.set_option(tcp::no_delay(true), ec);
  auto session = std::make_shared<Session>(std::move(socket), shared_from_this());
  asio::post(loop.context, [&loop, session = std::move(session)] {
    loop.sessions.push_back(session);
    session->start();
  });
  do_accept();
}

void HttpServer::Impl::sweep(Loop& loop) {
  const SteadyTime now = std::chrono::steady_clock::now();
  auto& sessions = loop.sessions;
  for (std::size_t i = 0; i < sessions.size();) {
    if (auto session = sessions[i].lock()) {
      session->close_if_past(now);
      ++i;
    } else {
      sessions[i] = std::move(sessions.back());
      sessions.pop_back();
    }
  }
  loop.sweep_timer.expires_after(sweep_interval(options));
  // A weak reference: the timer's pending handler must not keep the server alive by itself.
  loop.sweep_timer.async_wait([weak = weak_from_this(), &loop](beast::error_code ec) {
    auto self = weak.lock();
    if (!ec && self) self->sweep(loop);
  });
}

HttpServer::HttpServer(ServerOptions options, FileService& service, Logger logger)
    : impl_(std::make_shared<Impl>(std::move(options), service, std::move(logger))) {}

void HttpServer::Impl::join_loops() {
  for (auto& thread : threads) {
    if (thread.joinable()) thread.join();
  }
  threads.clear();
  if (shutdown_thread.joinable()) shutdown_thread.join();
}

// Stops the worker pool and waits for its threads, until `deadline` when one is given. False when
// a worker is still inside a handler then.
bool HttpServer::Impl::join_workers(std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(workers_mutex);
  if (!workers_joiner.joinable() && !workers_done) {
    workers.stop();
    workers_joiner = std::thread([this] {
      workers.join();
      std::lock_guard done_lock(workers_mutex);
      workers_done = true;
      workers_done_cv.notify_all();
    });
  }
  const auto done = [this] { return workers_done; };
  if (deadline) {
    if (!workers_done_cv.wait_until(lock, *deadline, done)) return false;
  } else {
    workers_done_cv.wait(lock, done);
  }
  if (workers_joiner.joinable()) workers_joiner.join();
  return true;
}

// Once loops and workers are stopped: closes what is left and runs the handlers that this aborts,
// so that no pending operation keeps a session (and through it the server) alive.
void HttpServer::Impl::close_sessions() {
  for (auto& loop : loops) {
    loop->sweep_timer.cancel();
    for (auto& weak : loop->sessions) {
      if (auto session = weak.lock()) session->close_now();
    }
    loop->sessions.clear();
    loop->context.restart();
    loop->context.poll();
  }
}

HttpServer::~HttpServer() {
  if (!impl_->threads.empty()) shutdown(std::chrono::milliseconds(0));
  impl_->join_loops();
  // Whatever wait() left running uses what goes now: here the workers are waited for, however
  // long they take.
  impl_->join_workers(std::nullopt);
  impl_->close_sessions();
}

Result<int> open_spool_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // A file system without O_TMPFILE: a named file, unlinked at once.
    std::string name = dir + "/.file-service-body-XXXXXX";
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(name.c_str());
  }
  if (fd < 0) {
    return make_error(ErrorCode::kUnavailable,
                      "the spool directory '" + dir + "': " + std::strerror(errno));
  }
  return fd;
}

Status HttpServer::start() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->options.address, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid listen address '" + impl_->options.address + "'");
  }
  const tcp::endpoint endpoint{address, impl_->options.port};
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + impl_->options.address + ":" +
                                                   std::to_string(impl_->options.port) + ": " +
                                                   ec.message());
  }
  impl_->bound_port = acceptor.local_endpoint().port();
  impl_->do_accept();
  for (auto& loop : impl_->loops) {
    asio::post(loop->context, [impl = impl_, loop = loop.get()] { impl->sweep(*loop); });
    impl_->threads.emplace_back([loop = loop.get()] { loop->context.run(); });
  }
  return {};
}

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  if (impl_->stopping.exchange(true)) return;
  asio::post(impl_->loops.front()->context, [impl = impl_] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    impl->accept_pause.cancel();
  });
  for (auto& loop : impl_->loops) {
    asio::post(loop->context, [loop = loop.get()] {
      for (auto& weak : loop->sessions) {
        if (auto session = weak.lock()) session->close_if_idle();
      }
    });
  }
  impl_->grace_end = std::chrono::steady_clock::now() + grace;
  impl_->shutdown_thread = std::thread([impl = impl_, grace] {
    const Clock& clock = impl->service.clock();
    const auto deadline = clock.steady_now() + grace;
    while (impl->connections.load() > 0 && clock.steady_now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (impl->connections.load() > 0) {
      impl->logger.warn("shutdown grace period over; dropping connections",
                        {{"connections", impl->connections.load()}});
    }
    for (auto& guard : impl->guards) guard.reset();
    for (auto& loop : impl->loops) loop->context.stop();
  });
}

void HttpServer::wait() {
  impl_->join_loops();
  if (!impl_->join_workers(impl_->grace_end)) {
    // A worker blocked in a back-end call (a hung mount) must not keep the process alive: it is
    // left as it is, with the sessions it may still use.
    impl_->logger.warn("shutdown grace period over; leaving workers blocked in back-end calls");
    return;
  }
  impl_->close_sessions();
}

}  // namespace efsas::service
