// HTTP request and response as plain values, and the pure helpers request handling needs
// (percent-decoding, query strings, Range, entity-tag lists). No Boost here: the session turns
// Beast messages into these and back, so the handling logic is tested without sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "efsas/result.h"
#include "efsas/service/backend.h"

namespace efsas::service {

// A request body kept in an unlinked file: an upload that arrived while the server's memory for
// bodies was spent. The file goes when the last holder lets go of it.
class SpooledBody {
 public:
  SpooledBody(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~SpooledBody();
  SpooledBody(const SpooledBody&) = delete;
  SpooledBody& operator=(const SpooledBody&) = delete;
  int fd() const { return fd_; }
  std::uint64_t size() const { return size_; }
  void set_size(std::uint64_t size) { size_ = size; }  // while it is being written

 private:
  int fd_;
  std::uint64_t size_;
};

struct Request {
  // The one shared empty body of requests that have none.
  static std::shared_ptr<const std::string> no_body();

  std::string method;  // "GET", "PUT", ...
  std::string target;  // the raw request target: "/files/a%20b.txt?x=y"
  // Header names in lower case; a repeated header's values joined with ", ".
  using Headers = std::map<std::string, std::string, std::less<>>;
  Headers headers;
  std::shared_ptr<const std::string> body = no_body();
  // When set, the body is in this file instead (and `body` is empty).
  std::shared_ptr<const SpooledBody> spooled;
  // Set by the session when it can send a file descriptor without leaving the network thread:
  // then a file body of any size is streamed (sendfile), not read into the response.
  bool zero_copy = false;

  std::uint64_t body_size() const { return spooled ? spooled->size() : body->size(); }

  const std::string* header(std::string_view lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

// A file region the session streams after the headers (sendfile when the reader has a native
// descriptor, positional reads otherwise).
struct StreamBody {
  std::shared_ptr<FileReader> reader;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<StreamBody> stream;  // when set, `body` is empty and Content-Length is set
  bool head = false;                 // a HEAD response: headers only, Content-Length as for GET

  // For metrics and the access log: the route template and the mount target that served.
  std::string route;
  std::string mount_target;

  void set_header(std::string name, std::string value);
  // Appends a header the response does not have yet (no check: for building a fresh response).
  void add_header(std::string_view name, std::string value) {
    headers.emplace_back(std::string(name), std::move(value));
  }
  const std::string* header(std::string_view name) const;  // case-insensitive
  std::uint64_t content_length() const { return stream ? stream->length : body.size(); }
};

// A JSON error body: {"error": {"status": 404, "code": "NotFound", "message": "..."}}. A 503
// also says when to try again (Retry-After: 1), whatever made it.
Response json_error(int status, std::string_view code, std::string_view message);

// Percent-decodes a URL path. InvalidArgument for a malformed escape ("%4", "%zz").
Result<std::string> percent_decode(std::string_view text);
// Percent-encodes everything except unreserved characters and '/'.
std::string percent_encode_path(std::string_view text);

// Splits "a=1&b=x%20y" into decoded pairs; InvalidArgument for a malformed escape.
Result<std::map<std::string, std::string>> parse_query(std::string_view query);

// One byte range, resolved against the file size: [first, last] inclusive.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const { return last - first + 1; }
};

enum class RangeOutcome { kIgnore, kSatisfiable, kUnsatisfiable };
struct RangeResult {
  RangeOutcome outcome = RangeOutcome::kIgnore;
  ByteRange range;
};

// Interprets a Range header for a file of `size` bytes. Only one "bytes=" range is served;
// anything else (other units, several ranges, syntax errors) is ignored, so the whole file goes
// out with 200, as RFC 9110 allows.
RangeResult parse_range(std::string_view header, std::uint64_t size);

// Whether an If-Match / If-None-Match header value ("*", or a list of entity tags, possibly weak)
// matches `etag`. Strong comparison when `weak_ok` is false (If-Match), weak otherwise.
bool etag_list_matches(std::string_view header, std::string_view etag, bool weak_ok);

// Parses an HTTP date in any of the three forms a recipient must take (RFC 9110 5.6.7):
// IMF-fixdate ("Wed, 25 Nov 2026 19:30:00 GMT"), RFC 850 ("Wednesday, 25-Nov-26 19:30:00 GMT",
// its two-digit year read relative to `now`) and asctime ("Wed Nov 25 19:30:00 2026").
std::optional<SystemTime> parse_http_date(std::string_view text,
                                          SystemTime now = std::chrono::system_clock::now());

// The origin form ("/files/a?x") of a request target in absolute form
// ("http://host:8080/files/a?x"), which a server must accept (RFC 9112 3.2.2); any other target
// as it is.
std::string_view origin_form(std::string_view target);

}  // namespace efsas::service
