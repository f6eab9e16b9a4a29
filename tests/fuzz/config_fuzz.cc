// What operators type: file-monitor's environment ("NAME=value" lines), endpoint URLs
// (AWS_ENDPOINT_URL) and file-service's NFS_ADDRESS_MAP. Any text gives a value or an error that
// names what to fix, never a crash; what parses is well formed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "efsas/aws/endpoints.h"
#include "efsas/monitor/config.h"
#include "efsas/nfs/address_map.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  efsas::monitor::Environment env;
  for (std::string_view rest = text; !rest.empty();) {
    const auto newline = rest.find('\n');
    const auto line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    env[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
  }
  const auto config = efsas::monitor::config_from_env(env);
  if (config.ok()) {
    const auto valid = efsas::monitor::validate(*config);
    if (!valid.ok()) FUZZ_CHECK(!valid.error().message.empty(), "a refusal says why");
  } else {
    FUZZ_CHECK(!config.error().message.empty(), "a refusal says why");
  }

  const auto endpoint = efsas::aws::parse_endpoint_url(text);
  if (endpoint.ok()) {
    FUZZ_CHECK(endpoint->scheme == "http" || endpoint->scheme == "https", "http or https");
    FUZZ_CHECK(!endpoint->host.empty(), "a host");
    FUZZ_CHECK(endpoint->host.find_first_of("/?# \t\r\n") == std::string::npos,
               "a host is only a host");
    FUZZ_CHECK(endpoint->base_path.empty() ||
                   (endpoint->base_path.front() == '/' && endpoint->base_path.back() != '/'),
               "a base path starts with a slash and does not end with one");
  }

  const auto map = efsas::nfs::parse_address_map(text);
  if (map.ok()) {
    for (const auto& [from, to] : *map) {
      FUZZ_CHECK(!from.empty() && !to.empty(), "both sides of a mapping");
      FUZZ_CHECK(efsas::nfs::resolve_address(*map, from) == to, "a mapped address resolves");
    }
  }
  return 0;
}
