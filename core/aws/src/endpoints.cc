// Standard endpoints, SDK-style endpoint overrides and region resolution.
#include "efsas/aws/endpoints.h"

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
  if (endpoint.host.empty() || endpoint.host.find_first_of("?#@ ") != std::string::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "endpoint URL has no valid host: " + std::string(url));
  }
  endpoint.overridden = true;
  return endpoint;
}

Result<Endpoint> resolve_endpoint(Service service, std::string_view region,
                                  const Environment& env) {
  const ServiceInfo& info = service_info(service);
  const bool ignore = env_value(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").value_or("") == "true";
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
