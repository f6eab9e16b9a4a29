// RuntimeTransport over libcurl: one reused easy handle, no overall timeout for a GET (/next
// long-polls), a bounded one for a POST.
#include <curl/curl.h>

#include <cctype>
#include <chrono>
#include <string>

#include "efsas/lambda/runtime.h"

namespace efsas::lambda {
namespace {

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  const std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t\r\n");
    value = first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
    (*headers)[name] = value;
  }
  return size * count;
}

class CurlTransport final : public RuntimeTransport {
 public:
  CurlTransport(std::string host_port, std::chrono::milliseconds post_timeout)
      : base_("http://" + std::move(host_port)),
        post_timeout_(post_timeout),
        curl_(curl_easy_init()) {}
  ~CurlTransport() override {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse> send(const HttpRequest& request) override {
    if (curl_ == nullptr) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
    curl_easy_reset(curl_);
    HttpResponse response;
    const std::string url = base_ + request.path;
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    // Lambda's Runtime API does not answer "Expect: 100-continue"; send bodies at once.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS,
                     request.method == "POST" ? static_cast<long>(post_timeout_.count()) : 0L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response.headers);
    if (request.method == "POST") {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
    const CURLcode code = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) {
      return make_error(
          ErrorCode::kIo,
          "runtime API " + request.method + " " + url + ": " + curl_easy_strerror(code), true);
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  std::string base_;
  std::chrono::milliseconds post_timeout_;
  CURL* curl_;
};

}  // namespace

std::unique_ptr<RuntimeTransport> make_http_transport(std::string host_port,
                                                      std::chrono::milliseconds post_timeout) {
  return std::make_unique<CurlTransport>(std::move(host_port), post_timeout);
}

}  // namespace efsas::lambda
