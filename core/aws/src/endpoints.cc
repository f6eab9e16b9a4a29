// Standard endpoints, SDK-style endpoint overrides and region resolution.
#include "efsas/aws/endpoints.h"

#include <cctype>
#include <charconv>

#include "profile_file.h"

namespace efsas::aws {

const ServiceInfo& service_info(Service service) {
  static constexpr ServiceInfo kEfs{"elasticfilesystem", "elasticfilesystem", "EFS"};
  static constexpr ServiceInfo kEc2{"ec2", "ec2", "EC2"};
  static constexpr ServiceInfo kSsm{"ssm", "ssm", "SSM"};
  static constexpr ServiceInfo kEcs{"ecs", "ecs", "ECS"};
  switch (service) {
    case Service::kEfs:
      return kEfs;
    case Service::kEc2:
      return kEc2;
    case Service::kSsm:
      return kSsm;
    case Service::kEcs:
      return kEcs;
  }
  fail_invariant("unknown Service");
}

namespace {

// "name", "1.2.3.4" or "[v6]", then an optional ":port" of 1 to 65535. Anything else (spaces, line
// breaks, user info, a port that is not a number) would end up in the Host header and the
// signature.
bool valid_authority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (const char c : authority.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    host = {};
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    for (const char c : host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return false;
      }
    }
  }
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Endpoint> parse_endpoint_url(std::string_view url) {
  Endpoint endpoint;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "endpoint URL needs a scheme (http:// or https://): " + std::string(url));
  }
  endpoint.scheme = std::string(url.substr(0, sep));
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    return make_error(ErrorCode::kInvalidArgument,
                      "endpoint URL scheme must be http or https: " + std::string(url));
  }
  std::string_view rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  endpoint.host = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    std::string path(rest.substr(slash));
    while (!path.empty() && path.back() == '/') path.pop_back();
    endpoint.base_path = path;
  }
  if (!valid_authority(endpoint.host)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "endpoint URL has no valid host[:port]: " + std::string(url));
  }
  // The path goes into every request line and signature as it is: visible characters only, and
  // no query or fragment.
  for (const char c : endpoint.base_path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '?' || c == '#') {
      return make_error(ErrorCode::kInvalidArgument,
                        "endpoint URL path must be plain: " + std::string(url));
    }
  }
  endpoint.overridden = true;
  return endpoint;
}

Result<Endpoint> resolve_endpoint(Service service, std::string_view region,
                                  const Environment& env) {
  const ServiceInfo& info = service_info(service);
  const bool ignore = env_flag(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  if (!ignore) {
    const std::string specific = "AWS_ENDPOINT_URL_" + std::string(info.env_suffix);
    if (auto url = env_value(env, specific)) return parse_endpoint_url(*url);
    if (auto url = env_value(env, "AWS_ENDPOINT_URL")) return parse_endpoint_url(*url);
  }
  if (region.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "no region to build an endpoint for");
  }
  Endpoint endpoint;
  const std::string suffix = region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  endpoint.host = std::string(info.endpoint_prefix) + "." + std::string(region) + "." + suffix;
  return endpoint;
}

Result<std::string> resolve_region(const Environment& env) {
  if (auto region = env_value(env, "AWS_REGION")) return *region;
  if (auto region = env_value(env, "AWS_DEFAULT_REGION")) return *region;
  const auto sections = detail::read_profile_file(detail::config_file_path(env), true);
  if (const auto it = sections.find(detail::profile_name(env)); it != sections.end()) {
    if (const auto region = it->second.find("region");
        region != it->second.end() && !region->second.empty()) {
      return region->second;
    }
  }
  return make_error(ErrorCode::kNotFound,
                    "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or region in the "
                    "config file's profile)");
}

}  // namespace efsas::aws
