// AWS credentials and the providers that find them, in the order the AWS SDKs use: environment,
// shared credentials/config files (AWS_PROFILE), ECS container endpoint, EC2 instance metadata
// (IMDSv2). Thread safety: every provider may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "efsas/aws/environment.h"
#include "efsas/aws/http.h"
#include "efsas/clock.h"
#include "efsas/result.h"

namespace efsas::aws {

struct Credentials {
  std::string access_key_id{};
  std::string secret_access_key{};
  std::string session_token{};             // empty for long-term keys
  std::optional<SystemTime> expiration{};  // nullopt: never expires
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Current credentials; kNotFound when this source has none (a chain then tries the next one).
  virtual Result<Credentials> get() = 0;
  virtual std::string name() const = 0;
};

// Always these credentials.
std::shared_ptr<CredentialsProvider> make_static_provider(Credentials credentials);

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (as Lambda sets them).
std::shared_ptr<CredentialsProvider> make_environment_provider(const Environment& env);

// ~/.aws/credentials then ~/.aws/config for the profile AWS_PROFILE (default "default");
// AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE override the paths; HOME locates "~".
std::shared_ptr<CredentialsProvider> make_profile_provider(const Environment& env);

// The ECS/Fargate container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
// http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with the Authorization header
// from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN. Caches the
// credentials and fetches new ones `refresh_before` their expiration.
std::shared_ptr<CredentialsProvider> make_container_provider(
    const Environment& env, std::shared_ptr<HttpTransport> transport,
    std::shared_ptr<const Clock> clock,
    std::chrono::seconds refresh_before = std::chrono::minutes(5));

// EC2 instance metadata, IMDSv2 (PUT a session token, then read the role's credentials).
// AWS_EC2_METADATA_SERVICE_ENDPOINT overrides http://169.254.169.254; AWS_EC2_METADATA_DISABLED
// =true turns it off. Caches like the container provider.
std::shared_ptr<CredentialsProvider> make_imds_provider(
    const Environment& env, std::shared_ptr<HttpTransport> transport,
    std::shared_ptr<const Clock> clock,
    std::chrono::seconds refresh_before = std::chrono::minutes(5));

// Tries each provider in order; the first that has credentials wins and is remembered.
std::shared_ptr<CredentialsProvider> make_chain_provider(
    std::vector<std::shared_ptr<CredentialsProvider>> providers);

// The SDKs' default order: environment, shared files, container endpoint, IMDSv2.
std::shared_ptr<CredentialsProvider> make_default_provider_chain(
    const Environment& env, std::shared_ptr<HttpTransport> transport,
    std::shared_ptr<const Clock> clock);

// "AKIDEXAMPLE" -> "AKID****", for logs: never a whole key, never a secret.
std::string redact_key_id(const std::string& access_key_id);

}  // namespace efsas::aws
