// Credentials providers: environment, shared files, ECS container endpoint, IMDSv2, chains.
#include "efsas/aws/credentials.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "efsas/aws/endpoints.h"
#include "profile_file.h"

namespace efsas::aws {
namespace {

Error not_found(std::string message) {
  return make_error(ErrorCode::kNotFound, std::move(message));
}

// "2026-11-25T20:30:00Z", with optional fractional seconds; UTC only, as the endpoints send it.
std::optional<SystemTime> parse_iso8601(const std::string& text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute,
                  &second) != 6) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return system_time_at(seconds);
}

// Whether a value sent as a header would end it early and start another.
bool has_line_break(std::string_view value) {
  return value.find_first_of("\r\n") != std::string_view::npos;
}

// The JSON document the container endpoint and IMDS both return.
Result<Credentials> parse_credentials_document(const std::string& body, const std::string& source) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object() || !json.contains("AccessKeyId") || !json.contains("SecretAccessKey")) {
    return make_error(ErrorCode::kDataLoss, source + " returned no credentials document");
  }
  if (json.contains("Code") && json["Code"].is_string() && json["Code"] != "Success") {
    return make_error(ErrorCode::kUnavailable,
                      source + " reported " + json["Code"].get<std::string>(), true);
  }
  // Each field a string, or absent (Token); anything else is a broken document, not a crash.
  const auto field = [&](const char* name) -> std::optional<std::string> {
    if (!json.contains(name)) return std::string();
    if (!json[name].is_string()) return std::nullopt;
    return json[name].get<std::string>();
  };
  Credentials credentials;
  const auto key_id = field("AccessKeyId");
  const auto secret = field("SecretAccessKey");
  const auto token = field("Token");
  const auto has_control = [](const std::optional<std::string>& value) {
    return value && std::any_of(value->begin(), value->end(),
                                [](char c) { return static_cast<unsigned char>(c) < 0x20; });
  };
  if (!key_id || !secret || !token || key_id->empty() || secret->empty() || has_control(key_id) ||
      has_control(secret) || has_control(token)) {
    return make_error(ErrorCode::kDataLoss,
                      source + " returned an unreadable credentials document");
  }
  credentials.access_key_id = *key_id;
  credentials.secret_access_key = *secret;
  credentials.session_token = *token;
  if (json.contains("Expiration") && json["Expiration"].is_string()) {
    credentials.expiration = parse_iso8601(json["Expiration"].get<std::string>());
    if (!credentials.expiration) {
      return make_error(ErrorCode::kDataLoss, source + " returned an unreadable Expiration");
    }
  }
  return credentials;
}

class StaticProvider final : public CredentialsProvider {
 public:
  explicit StaticProvider(Credentials credentials) : credentials_(std::move(credentials)) {}
  Result<Credentials> get() override { return credentials_; }
  std::string name() const override { return "static"; }

 private:
  Credentials credentials_;
};

class EnvironmentProvider final : public CredentialsProvider {
 public:
  explicit EnvironmentProvider(const Environment& env)
      : access_key_id_(env_value(env, "AWS_ACCESS_KEY_ID")),
        secret_(env_value(env, "AWS_SECRET_ACCESS_KEY")),
        token_(env_value(env, "AWS_SESSION_TOKEN")) {}
  Result<Credentials> get() override {
    if (!access_key_id_ || !secret_) {
      return not_found("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set");
    }
    return Credentials{*access_key_id_, *secret_, token_.value_or(""), std::nullopt};
  }
  std::string name() const override { return "environment"; }

 private:
  std::optional<std::string> access_key_id_, secret_, token_;
};

class ProfileProvider final : public CredentialsProvider {
 public:
  explicit ProfileProvider(const Environment& env)
      : profile_(detail::profile_name(env)),
        credentials_path_(detail::credentials_file_path(env)),
        config_path_(detail::config_file_path(env)) {}

  Result<Credentials> get() override {
    for (const auto& [path, is_config] :
         {std::pair{credentials_path_, false}, std::pair{config_path_, true}}) {
      const auto sections = detail::read_profile_file(path, is_config);
      const auto it = sections.find(profile_);
      if (it == sections.end()) continue;
      const auto& keys = it->second;
      const auto id = keys.find("aws_access_key_id");
      const auto secret = keys.find("aws_secret_access_key");
      if (id == keys.end() || secret == keys.end()) continue;
      const auto token = keys.find("aws_session_token");
      return Credentials{id->second, secret->second,
                         token == keys.end() ? std::string() : token->second, std::nullopt};
    }
    return not_found("profile \"" + profile_ + "\" has no keys in " + credentials_path_.string() +
                     " or " + config_path_.string());
  }
  std::string name() const override { return "profile"; }

 private:
  std::string profile_;
  std::filesystem::path credentials_path_, config_path_;
};

// Caches what `fetch` returns until `refresh_before` its expiration. While the cached credentials
// are still valid, one caller refreshes them and the others go on with them. When a fetch fails,
// the next waits kRetryAfterFailure: meanwhile callers get the cached credentials while they are
// valid (as the SDKs do), or that failure, so that an endpoint that is down costs each call
// nothing rather than a timeout.
class RefreshingProvider : public CredentialsProvider {
 public:
  static constexpr std::chrono::seconds kRetryAfterFailure{10};

  RefreshingProvider(std::shared_ptr<const Clock> clock, std::chrono::seconds refresh_before)
      : clock_(std::move(clock)), refresh_before_(refresh_before) {}

  Result<Credentials> get() final {
    std::unique_lock lock(mutex_);
    while (true) {
      const SystemTime now = clock_->now();
      const bool valid = cached_ && (!cached_->expiration || now < *cached_->expiration);
      if (valid && (!cached_->expiration || now < *cached_->expiration - refresh_before_)) {
        return *cached_;
      }
      if (valid && (refreshing_ || now < retry_after_)) return *cached_;
      // Nothing valid, and the last attempt failed a moment ago: its answer stands until then.
      if (!refreshing_ && now < retry_after_ && last_failure_) return *last_failure_;
      if (!refreshing_) break;
      refreshed_.wait(lock);  // nothing valid to go on with: the refresh under way decides
    }
    refreshing_ = true;
    lock.unlock();
    // However the fetch ends (a throw too), the waiters look again.
    const auto end_refresh = [&] {
      lock.lock();
      refreshing_ = false;
      refreshed_.notify_all();
    };
    Result<Credentials> fresh = make_error(ErrorCode::kInternal, "credentials fetch threw");
    try {
      fresh = fetch();
    } catch (...) {
      end_refresh();
      throw;
    }
    end_refresh();
    const SystemTime now = clock_->now();
    if (fresh.ok()) {
      cached_ = fresh.value();
      retry_after_ = {};
      last_failure_.reset();
      return fresh;
    }
    retry_after_ = now + kRetryAfterFailure;
    last_failure_ = fresh.error();
    if (cached_ && cached_->expiration && now < *cached_->expiration) return *cached_;
    return fresh;
  }

 protected:
  virtual Result<Credentials> fetch() = 0;

 private:
  std::shared_ptr<const Clock> clock_;
  std::chrono::seconds refresh_before_;
  std::mutex mutex_;
  std::condition_variable refreshed_;
  bool refreshing_ = false;
  SystemTime retry_after_{};
  std::optional<Error> last_failure_;
  std::optional<Credentials> cached_;
};

bool is_allowed_container_host(const std::string& scheme, const std::string& host) {
  if (scheme == "https") return true;
  std::string name = host;
  if (name.starts_with("[")) {
    name = name.substr(0, name.find(']') + 1);
  } else if (const auto colon = name.rfind(':'); colon != std::string::npos) {
    name = name.substr(0, colon);
  }
  return name == "localhost" || name.starts_with("127.") || name == "[::1]" ||
         name == "169.254.170.2" || name == "169.254.170.23" || name == "[fd00:ec2::23]";
}

class ContainerProvider final : public RefreshingProvider {
 public:
  ContainerProvider(const Environment& env, std::shared_ptr<HttpTransport> transport,
                    std::shared_ptr<const Clock> clock, std::chrono::seconds refresh_before)
      : RefreshingProvider(std::move(clock), refresh_before),
        transport_(std::move(transport)),
        relative_uri_(env_value(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")),
        full_uri_(env_value(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")),
        token_file_(env_value(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")),
        token_(env_value(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")) {}
  std::string name() const override { return "container"; }

 protected:
  Result<Credentials> fetch() override {
    std::string url;
    if (relative_uri_) {
      url = "http://169.254.170.2" + *relative_uri_;
    } else if (full_uri_) {
      url = *full_uri_;
    } else {
      return not_found("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI are not set");
    }
    const auto query_at = url.find('?');
    auto endpoint = parse_endpoint_url(url.substr(0, query_at));
    if (!endpoint.ok()) return endpoint.error();
    if (!relative_uri_ && !is_allowed_container_host(endpoint->scheme, endpoint->host)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, loopback or the ECS/EKS "
                        "agent address: " +
                            url);
    }
    HttpRequest request;
    request.scheme = endpoint->scheme;
    request.host = endpoint->host;
    request.path = endpoint->base_path.empty() ? "/" : endpoint->base_path;
    if (query_at != std::string::npos) request.query = url.substr(query_at + 1);
    request.headers.push_back({"Accept", "application/json"});
    if (auto token = authorization_token()) {
      if (has_line_break(*token)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "the container authorization token contains a line break");
      }
      request.headers.push_back({"Authorization", *token});
    }
    auto response =
        transport_->send(request, HttpTimeouts{std::chrono::seconds(2), std::chrono::seconds(5)});
    if (!response.ok()) return response.error();
    if (response->status != 200) {
      return make_error(
          ErrorCode::kUnavailable,
          "container credentials endpoint answered HTTP " + std::to_string(response->status),
          response->status >= 500);
    }
    return parse_credentials_document(response->body, "container credentials endpoint");
  }

 private:
  // Read on each fetch: the agent rotates the token file.
  std::optional<std::string> authorization_token() const {
    if (token_file_) {
      std::ifstream in(*token_file_);
      std::ostringstream content;
      content << in.rdbuf();
      std::string token = content.str();
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
      if (!token.empty()) return token;
    }
    return token_;
  }

  std::shared_ptr<HttpTransport> transport_;
  std::optional<std::string> relative_uri_, full_uri_, token_file_, token_;
};

class ImdsProvider final : public RefreshingProvider {
 public:
  ImdsProvider(const Environment& env, std::shared_ptr<HttpTransport> transport,
               std::shared_ptr<const Clock> clock, std::chrono::seconds refresh_before)
      : RefreshingProvider(std::move(clock), refresh_before),
        transport_(std::move(transport)),
        disabled_(env_flag(env, "AWS_EC2_METADATA_DISABLED")),
        endpoint_url_(env_value(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
                          .value_or("http://169.254.169.254")) {}
  std::string name() const override { return "imds"; }

 protected:
  Result<Credentials> fetch() override {
    if (disabled_) return not_found("AWS_EC2_METADATA_DISABLED=true");
    auto endpoint = parse_endpoint_url(endpoint_url_);
    if (!endpoint.ok()) return endpoint.error();
    auto token = send(*endpoint, "PUT", "/latest/api/token",
                      {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}});
    if (!token.ok()) return token.error();
    if (has_line_break(*token)) {
      return make_error(ErrorCode::kDataLoss,
                        "instance metadata returned a token with a line break");
    }
    const HttpHeaders auth{{"X-aws-ec2-metadata-token", *token}};
    auto role = send(*endpoint, "GET", "/latest/meta-data/iam/security-credentials/", auth);
    if (!role.ok()) return role.error();
    const std::string role_name = role->substr(0, role->find('\n'));
    if (role_name.empty()) return not_found("instance metadata lists no IAM role");
    auto document =
        send(*endpoint, "GET", "/latest/meta-data/iam/security-credentials/" + role_name, auth);
    if (!document.ok()) return document.error();
    return parse_credentials_document(*document, "instance metadata");
  }

 private:
  Result<std::string> send(const Endpoint& endpoint, const std::string& method,
                           const std::string& path, HttpHeaders headers) {
    HttpRequest request;
    request.method = method;
    request.scheme = endpoint.scheme;
    request.host = endpoint.host;
    request.path = endpoint.base_path + path;
    request.headers = std::move(headers);
    // Short timeouts: off EC2 nothing answers, and the chain must move on quickly.
    auto response =
        transport_->send(request, HttpTimeouts{std::chrono::seconds(1), std::chrono::seconds(2)});
    if (!response.ok()) {
      return not_found("instance metadata unreachable: " + response.error().message);
    }
    if (response->status != 200) {
      return not_found("instance metadata " + path + " answered HTTP " +
                       std::to_string(response->status));
    }
    return response->body;
  }

  std::shared_ptr<HttpTransport> transport_;
  bool disabled_;
  std::string endpoint_url_;
};

class ChainProvider final : public CredentialsProvider {
 public:
  explicit ChainProvider(std::vector<std::shared_ptr<CredentialsProvider>> providers)
      : providers_(std::move(providers)) {}

  Result<Credentials> get() override {
    std::shared_ptr<CredentialsProvider> chosen;
    {
      std::lock_guard lock(mutex_);
      chosen = chosen_;
    }
    if (chosen) return chosen->get();
    std::string tried;
    for (const auto& provider : providers_) {
      auto credentials = provider->get();
      if (credentials.ok()) {
        std::lock_guard lock(mutex_);
        chosen_ = provider;
        return credentials;
      }
      if (credentials.error().code != ErrorCode::kNotFound) return credentials;
      tried += (tried.empty() ? "" : "; ") + provider->name() + ": " + credentials.error().message;
    }
    return not_found("no AWS credentials found (" + tried + ")");
  }
  std::string name() const override { return "chain"; }

 private:
  std::vector<std::shared_ptr<CredentialsProvider>> providers_;
  std::mutex mutex_;
  std::shared_ptr<CredentialsProvider> chosen_;
};

}  // namespace

std::shared_ptr<CredentialsProvider> make_static_provider(Credentials credentials) {
  return std::make_shared<StaticProvider>(std::move(credentials));
}

std::shared_ptr<CredentialsProvider> make_environment_provider(const Environment& env) {
  return std::make_shared<EnvironmentProvider>(env);
}

std::shared_ptr<CredentialsProvider> make_profile_provider(const Environment& env) {
  return std::make_shared<ProfileProvider>(env);
}

std::shared_ptr<CredentialsProvider> make_container_provider(
    const Environment& env, std::shared_ptr<HttpTransport> transport,
    std::shared_ptr<const Clock> clock, std::chrono::seconds refresh_before) {
  return std::make_shared<ContainerProvider>(env, std::move(transport), std::move(clock),
                                             refresh_before);
}

std::shared_ptr<CredentialsProvider> make_imds_provider(const Environment& env,
                                                        std::shared_ptr<HttpTransport> transport,
                                                        std::shared_ptr<const Clock> clock,
                                                        std::chrono::seconds refresh_before) {
  return std::make_shared<ImdsProvider>(env, std::move(transport), std::move(clock),
                                        refresh_before);
}

std::shared_ptr<CredentialsProvider> make_chain_provider(
    std::vector<std::shared_ptr<CredentialsProvider>> providers) {
  return std::make_shared<ChainProvider>(std::move(providers));
}

std::shared_ptr<CredentialsProvider> make_default_provider_chain(
    const Environment& env, std::shared_ptr<HttpTransport> transport,
    std::shared_ptr<const Clock> clock) {
  return make_chain_provider({make_environment_provider(env), make_profile_provider(env),
                              make_container_provider(env, transport, clock),
                              make_imds_provider(env, transport, clock)});
}

std::string redact_key_id(const std::string& access_key_id) {
  return access_key_id.substr(0, std::min<std::size_t>(4, access_key_id.size())) + "****";
}

}  // namespace efsas::aws
