// Which URL and signing name each service uses in a region, overridable the way the SDKs allow:
// AWS_ENDPOINT_URL_<SERVICE> (e.g. AWS_ENDPOINT_URL_EFS), then AWS_ENDPOINT_URL. Region from
// AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region` in the config file.
// Thread safety: pure functions (resolve_region reads the config file).
#pragma once

#include <string>
#include <string_view>

#include "efsas/aws/environment.h"
#include "efsas/result.h"

namespace efsas::aws {

enum class Service { kEfs, kEc2, kSsm, kEcs };

struct ServiceInfo {
  std::string_view signing_name;     // "elasticfilesystem"
  std::string_view endpoint_prefix;  // "elasticfilesystem"
  std::string_view env_suffix;       // "EFS", as in AWS_ENDPOINT_URL_EFS
};
const ServiceInfo& service_info(Service service);

struct Endpoint {
  std::string scheme = "https";
  std::string host;       // with ":port" when not the scheme's default
  std::string base_path;  // "" or a path prefix without trailing slash, from an override URL
  bool overridden = false;
};

// "http://127.0.0.1:5000/prefix" -> {http, 127.0.0.1:5000, /prefix}; kInvalidArgument otherwise.
Result<Endpoint> parse_endpoint_url(std::string_view url);

// https://<prefix>.<region>.amazonaws.com (.amazonaws.com.cn in China), unless overridden.
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true disables the overrides.
Result<Endpoint> resolve_endpoint(Service service, std::string_view region, const Environment& env);

// kNotFound when no source names a region.
Result<std::string> resolve_region(const Environment& env);

}  // namespace efsas::aws
