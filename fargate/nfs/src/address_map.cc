// NFS_ADDRESS_MAP parsing.
#include "efsas/nfs/address_map.h"

#include <arpa/inet.h>

#include <string>

namespace efsas::nfs {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_ipv4(std::string_view text) {
  in_addr parsed{};
  return !text.empty() && ::inet_pton(AF_INET, std::string(text).c_str(), &parsed) == 1;
}

}  // namespace

Result<AddressMap> parse_address_map(std::string_view text) {
  AddressMap map;
  while (!trim(text).empty()) {
    const auto comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return make_error(ErrorCode::kInvalidArgument,
                        "NFS_ADDRESS_MAP: '" + std::string(item) + "' is not FROM=TO");
    }
    const std::string_view from = trim(item.substr(0, eq));
    const std::string_view to = trim(item.substr(eq + 1));
    if (!is_ipv4(from) || !is_ipv4(to)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "NFS_ADDRESS_MAP: '" + std::string(item) + "' needs two IPv4 addresses");
    }
    if (!map.emplace(std::string(from), std::string(to)).second) {
      return make_error(ErrorCode::kInvalidArgument,
                        "NFS_ADDRESS_MAP: " + std::string(from) + " is mapped twice");
    }
  }
  return map;
}

std::string resolve_address(const AddressMap& map, std::string_view address) {
  const auto it = map.find(address);
  return it == map.end() ? std::string(address) : it->second;
}

}  // namespace efsas::nfs
