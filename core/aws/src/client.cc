// AwsClient: sign, send, classify, retry; and AWS error parsing for the three protocols.
#include "efsas/aws/client.h"

#include <charconv>
#include <ctime>
#include <mutex>
#include <optional>
#include <pugixml.hpp>
#include <random>
#include <string_view>
#include <system_error>
#include <utility>

#include "efsas/aws/sigv4.h"

namespace efsas::aws {
namespace {

// Error codes AWS gives a request whose signing time is too far from its own clock (SigV4 allows
// five minutes), or whose signature then fails for that reason. The last three are also given to
// signatures wrong for other reasons: correct_clock_skew checks the response's Date first.
bool is_clock_skew_code(std::string_view code) {
  return code == "RequestTimeTooSkewed" || code == "RequestExpired" ||
         code == "RequestInTheFuture" || code == "InvalidSignatureException" ||
         code == "SignatureDoesNotMatch" || code == "AuthFailure";
}

// An HTTP Date in the IMF-fixdate form AWS sends ("Wed, 25 Nov 2026 19:30:00 GMT").
std::optional<SystemTime> parse_imf_date(std::string_view text) {
  std::tm tm{};
  const std::string copy(text);
  const char* end = ::strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return system_time_at(static_cast<std::int64_t>(::timegm(&tm)));
}

constexpr std::string_view kUserAgent = "efsas-aws/0.1";

std::string_view json_target_prefix(Service service) {
  switch (service) {
    case Service::kSsm:
      return "AmazonSSM";
    case Service::kEcs:
      return "AmazonEC2ContainerServiceV20141113";
    case Service::kEfs:
    case Service::kEc2:
      break;
  }
  fail_invariant("JSON 1.1 call to a service without a target prefix");
}

RandomSource default_random() {
  struct State {
    std::mutex mutex;
    std::mt19937_64 engine{std::random_device{}()};
    std::uniform_real_distribution<double> uniform{0.0, 1.0};
  };
  auto state = std::make_shared<State>();
  return [state] {
    std::lock_guard lock(state->mutex);
    return state->uniform(state->engine);
  };
}

// Headers as they may appear in a log line: no signature, no session token.
nlohmann::json redacted_headers(const HttpHeaders& headers) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& header : headers) {
    std::string lower = header.name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool secret = lower == "authorization" || lower == "x-amz-security-token" ||
                        lower == "x-aws-ec2-metadata-token";
    out[header.name] = secret ? std::string("<redacted>") : header.value;
  }
  return out;
}

std::string strip_code(std::string code) {
  // "com.amazon.coral#ThrottlingException" or "ThrottlingException:http://..." -> the bare code.
  if (const auto hash = code.rfind('#'); hash != std::string::npos) code = code.substr(hash + 1);
  if (const auto colon = code.find(':'); colon != std::string::npos) code = code.substr(0, colon);
  return code;
}

std::string json_string(const nlohmann::json& json, std::initializer_list<const char*> keys) {
  if (!json.is_object()) return "";
  for (const char* key : keys) {
    if (json.contains(key) && json[key].is_string()) return json[key].get<std::string>();
  }
  return "";
}

std::string xml_text(const pugi::xml_node& root, const char* name) {
  const auto node = root.find_node(
      [name](const pugi::xml_node& n) { return std::string_view(n.name()) == name; });
  return node ? node.text().as_string() : "";
}

}  // namespace

Error parse_error_response(Protocol protocol, const HttpResponse& response) {
  Error error;
  error.code = ErrorCode::kRemote;
  error.request_id = find_header(response.headers, "x-amzn-RequestId")
                         .value_or(find_header(response.headers, "x-amz-request-id").value_or(""));
  std::string code;
  std::string message;
  if (protocol == Protocol::kQuery) {
    pugi::xml_document doc;
    if (doc.load_buffer(response.body.data(), response.body.size())) {
      code = xml_text(doc, "Code");
      message = xml_text(doc, "Message");
      if (error.request_id.empty()) error.request_id = xml_text(doc, "RequestID");
      if (error.request_id.empty()) error.request_id = xml_text(doc, "RequestId");
    }
  } else {
    const auto json = nlohmann::json::parse(response.body, nullptr, false);
    code = find_header(response.headers, "x-amzn-ErrorType").value_or("");
    if (code.empty()) code = json_string(json, {"__type", "code", "Code", "ErrorCode"});
    message = json_string(json, {"message", "Message", "errorMessage"});
  }
  error.remote_code = strip_code(code);
  if (message.empty()) message = response.body.substr(0, 200);
  error.message = "HTTP " + std::to_string(response.status) + ": " + message;
  error.retryable = is_retryable_response(response.status, error.remote_code);
  return error;
}

AwsClient::AwsClient(AwsClientConfig config) : config_(std::move(config)) {
  if (!config_.transport || !config_.credentials || !config_.clock) {
    fail_invariant("AwsClient needs a transport, a credentials provider and a clock");
  }
  random_ = config_.random ? config_.random : default_random();
  quota_ = std::make_shared<RetryQuota>(config_.retry.retry_quota);
}

AwsClient AwsClient::with_deadline(SteadyTime deadline) const {
  AwsClient bounded = *this;
  bounded.deadline_ = deadline;
  return bounded;
}

AwsClient AwsClient::with_logger(Logger logger) const {
  AwsClient logged = *this;
  logged.config_.logger = std::move(logger);
  return logged;
}

Result<HttpResponse> AwsClient::call(const ApiRequest& request) const {
  Endpoint endpoint;
  if (const auto it = config_.endpoints.find(request.service); it != config_.endpoints.end()) {
    endpoint = it->second;
  } else {
    auto standard = resolve_endpoint(request.service, config_.region, Environment{});
    if (!standard.ok()) return standard.error();
    endpoint = std::move(standard).value();
  }
  int spent = 0;  // tokens the last retry took from the quota
  for (int attempt_number = 1;; ++attempt_number) {
    HttpTimeouts timeouts = config_.timeouts;
    if (deadline_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline_ - config_.clock->steady_now());
      if (left < kShortestAttempt) {
        return make_error(ErrorCode::kTimeout, request.operation +
                                                   ": not sent, the deadline is too close (" +
                                                   std::to_string(left.count()) + " ms left)");
      }
      timeouts.connect = std::min(timeouts.connect, left);
      timeouts.request = std::min(timeouts.request, left);
    }
    auto result = attempt(request, endpoint, timeouts);
    if (result.ok()) {
      quota_->release(spent);
      return result;
    }
    if (!should_retry(config_.retry, attempt_number, result.error())) {
      if (result.error().retryable) {
        config_.logger.debug("aws call gave up",
                             {{"operation", request.operation}, {"attempts", attempt_number}});
      }
      return result;
    }
    const auto delay = backoff_delay(config_.retry, attempt_number, random_);
    if (deadline_ && config_.clock->steady_now() + delay + kShortestAttempt > *deadline_) {
      config_.logger.debug("aws call not retried: the deadline is too close",
                           {{"operation", request.operation}, {"attempts", attempt_number}});
      return result;
    }
    spent = quota_->acquire(result.error());
    if (spent == 0) {
      config_.logger.debug("aws call not retried: retry quota exhausted",
                           {{"operation", request.operation}, {"attempts", attempt_number}});
      return result;
    }
    config_.logger.debug("aws call retrying", {{"operation", request.operation},
                                               {"attempt", attempt_number},
                                               {"error", result.error().to_string()},
                                               {"delay_ms", delay.count()}});
    config_.clock->sleep_for(delay);
  }
}

Result<HttpResponse> AwsClient::attempt(const ApiRequest& request, const Endpoint& endpoint,
                                        const HttpTimeouts& timeouts) const {
  auto credentials = config_.credentials->get();
  if (!credentials.ok()) return credentials.error();
  const ServiceInfo& info = service_info(request.service);

  HttpRequest http;
  http.method = request.method;
  http.scheme = endpoint.scheme;
  http.host = endpoint.host;
  http.path = endpoint.base_path + request.path;
  http.query = request.query;
  http.body = request.body;
  http.headers.push_back({"Host", endpoint.host});
  switch (request.protocol) {
    case Protocol::kRestJson:
      if (!request.body.empty()) http.headers.push_back({"Content-Type", "application/json"});
      break;
    case Protocol::kJson11:
      http.headers.push_back({"Content-Type", "application/x-amz-json-1.1"});
      http.headers.push_back({"X-Amz-Target", std::string(json_target_prefix(request.service)) +
                                                  "." + request.operation});
      break;
    case Protocol::kQuery:
      http.headers.push_back({"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"});
      break;
  }
  sigv4::SigningParams params;
  params.region = config_.region;
  params.service = std::string(info.signing_name);
  params.time = config_.clock->now() + clock_offset();
  sigv4::sign_request(http, credentials.value(), params);
  http.headers.push_back({"User-Agent", std::string(kUserAgent)});  // not signed, as in the SDKs

  if (config_.logger.enabled(LogLevel::kDebug)) {
    config_.logger.debug("aws request",
                         {{"operation", request.operation},
                          {"method", http.method},
                          {"url", http.url()},
                          {"access_key_id", redact_key_id(credentials->access_key_id)},
                          {"headers", redacted_headers(http.headers)}});
  }
  auto response = config_.transport->send(http, timeouts);
  if (!response.ok()) return response.error();
  if (config_.logger.enabled(LogLevel::kDebug)) {
    config_.logger.debug(
        "aws response",
        {{"operation", request.operation},
         {"status", response->status},
         {"aws_request_id", find_header(response->headers, "x-amzn-RequestId").value_or("")}});
  }
  if (response->status >= 200 && response->status < 300) return response;
  Error error = parse_error_response(request.protocol, response.value());
  correct_clock_skew(response.value(), params.time, error);
  return error;
}

void AwsClient::correct_clock_skew(const HttpResponse& response, SystemTime signed_at,
                                   Error& error) const {
  if (!is_clock_skew_code(error.remote_code)) return;
  const auto date = find_header(response.headers, "Date");
  if (!date) return;
  const auto server_now = parse_imf_date(*date);
  if (!server_now) return;
  const auto skew = std::chrono::duration_cast<std::chrono::milliseconds>(*server_now - signed_at);
  if (skew < kSkewTolerance && skew > -kSkewTolerance) return;
  const auto offset =
      std::chrono::duration_cast<std::chrono::milliseconds>(*server_now - config_.clock->now());
  clock_offset_->store(offset.count());
  config_.logger.warn("aws clock skew corrected: signing with the time AWS gave",
                      {{"offset_ms", offset.count()}, {"error", error.remote_code}});
  error.retryable = true;
}

Result<std::shared_ptr<AwsClient>> make_aws_client(const Environment& env,
                                                   std::shared_ptr<HttpTransport> transport,
                                                   std::shared_ptr<const Clock> clock,
                                                   Logger logger) {
  auto region = resolve_region(env);
  if (!region.ok()) return region.error();
  AwsClientConfig config;
  config.region = region.value();
  for (const Service service : {Service::kEfs, Service::kEc2, Service::kSsm, Service::kEcs}) {
    auto endpoint = resolve_endpoint(service, config.region, env);
    if (!endpoint.ok()) return endpoint.error();
    config.endpoints[service] = endpoint.value();
  }
  if (auto attempts = env_value(env, "AWS_MAX_ATTEMPTS")) {
    const std::string& text = *attempts;
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 100) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "AWS_MAX_ATTEMPTS must be a whole number from 1 to 100, got \"" + text + "\"");
    }
    config.retry.max_attempts = value;
  }
  config.credentials = make_default_provider_chain(env, transport, clock);
  config.transport = std::move(transport);
  config.clock = std::move(clock);
  config.logger = std::move(logger);
  return std::make_shared<AwsClient>(std::move(config));
}

}  // namespace efsas::aws
