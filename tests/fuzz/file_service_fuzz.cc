// file-service's request handling over a directory back end, fed any request: method, target,
// headers and body, against a few files. Whatever comes in, the answer is an HTTP status, nothing
// outside the mount targets' root is created, changed or removed, no temporary file is left behind,
// and a file whose upload succeeded reads back byte for byte. The input is "METHOD TARGET", then
// "name: value" header lines, an empty line and the body.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "efsas/service/file_service.h"
#include "fuzz_check.h"
#include "service_sandbox.h"

namespace {

using efsas::fuzz::ServiceSandbox;
using efsas::service::Request;
using efsas::service::Response;

Request parse(std::string_view input) {
  Request request;
  const auto line_end = input.find('\n');
  const auto first = input.substr(0, line_end);
  input = line_end == std::string_view::npos ? std::string_view{} : input.substr(line_end + 1);
  const auto space = first.find(' ');
  request.method = std::string(first.substr(0, space));
  request.target = space == std::string_view::npos ? "" : std::string(first.substr(space + 1));
  while (!input.empty() && input.front() != '\n') {
    const auto end = input.find('\n');
    const auto line = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    auto [it, fresh] = request.headers.emplace(name, std::string(value));
    if (!fresh) it->second += ", " + std::string(value);
  }
  if (!input.empty()) input.remove_prefix(1);  // the empty line
  request.body = std::make_shared<const std::string>(input);
  return request;
}

// The whole body a response carries, streamed or not.
std::string body_of(const Response& response) {
  if (!response.stream) return response.body;
  std::string out(response.stream->length, '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    auto n = response.stream->reader->read_at(
        response.stream->offset + done, std::span<char>(out.data() + done, out.size() - done));
    FUZZ_CHECK(n.ok() && *n > 0, "a streamed body can be read to its length");
    done += *n;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ServiceSandbox& sandbox = ServiceSandbox::get();
  sandbox.populate();
  const Request request = parse(std::string_view(reinterpret_cast<const char*>(data), size));
  // What a GET of the PUT's path answers before and after it.
  const auto read_back = [&] {
    Request get;
    get.method = "GET";
    get.target = request.target.substr(0, request.target.find('?'));
    return sandbox.service().handle_request(get);
  };
  std::optional<std::pair<int, std::string>> before;
  if (request.method == "PUT") {
    Response read = read_back();
    before.emplace(read.status, body_of(read));
  }
  const Response response = sandbox.service().handle_request(request);
  FUZZ_CHECK(response.status >= 200 && response.status <= 599, "an HTTP status");
  (void)body_of(response);

  if (before) {
    Response read = read_back();
    if (response.status == 201 || response.status == 204) {
      FUZZ_CHECK(read.status == 200, "a file just uploaded can be read");
      FUZZ_CHECK(body_of(read) == *request.body, "a file reads back as it was uploaded");
    } else if (response.status >= 400) {
      const std::pair<int, std::string> after{read.status, body_of(read)};
      FUZZ_CHECK(after == *before, "a refused upload changes nothing");
    }
  }

  sandbox.check_untouched();
  sandbox.clear();
  return 0;
}
