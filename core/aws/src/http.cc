// HTTP value helpers and the libcurl transport with a pool of reusable easy handles.
#include "efsas/aws/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace efsas::aws {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<HttpHeaders*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    headers->clear();  // a new response (after 100 Continue or a redirect) starts over
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    headers->push_back(
        {std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
  }
  return size * count;
}

Error transport_error(CURLcode code, const std::string& url, const char* detail) {
  std::string message = "HTTP request to " + url + " failed: " + curl_easy_strerror(code);
  if (detail != nullptr && *detail != '\0') message += std::string(" (") + detail + ")";
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(ErrorCode::kTimeout, message, true);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return make_error(ErrorCode::kInvalidArgument, message, false);
    // TLS that cannot work as configured (an unreadable or wrong AWS_CA_BUNDLE, a certificate
    // that does not verify): the same request fails the same way, so it is not retried.
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return make_error(ErrorCode::kPermissionDenied, message, false);
    default:
      // Refused, reset, dropped, unresolved: the SDKs retry every connection failure.
      return make_error(ErrorCode::kUnavailable, message, true);
  }
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport(std::size_t max_idle, std::string ca_bundle)
      : max_idle_(max_idle), ca_bundle_(std::move(ca_bundle)) {}
  ~CurlTransport() override {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<HttpResponse> send(const HttpRequest& request, const HttpTimeouts& timeouts) override {
    CURL* handle = acquire();
    if (handle == nullptr) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
    const std::string url = request.url();
    HttpResponse response;
    curl_slist* headers = nullptr;
    for (const auto& header : request.headers) {
      headers = curl_slist_append(headers, (header.name + ": " + header.value).c_str());
    }
    // No implicit headers that were not signed and serve no purpose here.
    headers = curl_slist_append(headers, "Expect:");
    if (!find_header(request.headers, "Accept")) headers = curl_slist_append(headers, "Accept:");
    if (!find_header(request.headers, "Content-Type")) {
      headers = curl_slist_append(headers, "Content-Type:");  // not curl's form default
    }
    char error_detail[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_detail);
    if (!ca_bundle_.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, ca_bundle_.c_str());
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(timeouts.connect.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeouts.request.count()));
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &response.headers);
    if (request.method == "GET") {
      curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      if (request.method != "POST") {
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      }
    }
    const CURLcode code = curl_easy_perform(handle);
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    release(handle);
    if (code != CURLE_OK) return transport_error(code, url, error_detail);
    response.status = static_cast<int>(status);
    return response;
  }

 private:
  CURL* acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  void release(CURL* handle) {
    // curl_easy_reset clears the options but keeps the live connection for the next request.
    curl_easy_reset(handle);
    std::lock_guard lock(mutex_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(handle);
      return;
    }
    curl_easy_cleanup(handle);
  }

  std::size_t max_idle_;
  std::string ca_bundle_;
  std::mutex mutex_;
  std::vector<CURL*> idle_;
};

}  // namespace

std::optional<std::string> find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& header : headers) {
    if (iequals(header.name, name)) return header.value;
  }
  return std::nullopt;
}

void set_header(HttpHeaders& headers, std::string_view name, std::string value) {
  std::erase_if(headers, [&](const HttpHeader& header) { return iequals(header.name, name); });
  headers.push_back({std::string(name), std::move(value)});
}

std::string HttpRequest::url() const {
  std::string url = scheme + "://" + host + path;
  if (!query.empty()) url += "?" + query;
  return url;
}

std::shared_ptr<HttpTransport> make_curl_transport(std::size_t max_idle_connections,
                                                   std::string ca_bundle) {
  static std::once_flag curl_initialised;  // libcurl requires one process-wide init
  std::call_once(curl_initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_shared<CurlTransport>(max_idle_connections, std::move(ca_bundle));
}

}  // namespace efsas::aws
