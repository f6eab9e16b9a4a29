// NFS_ADDRESS_MAP: which endpoint to dial for a mount target's IP address. In AWS the map is
// empty (every mount target is dialled at its own address); the local demo maps the 10.x
// addresses that the (emulated) EFS API reports to nfs-ganesha servers on 127.0.0.x.
// Pure value type and functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "efsas/result.h"

namespace efsas::nfs {

using AddressMap = std::map<std::string, std::string, std::less<>>;

// "10.0.1.25=127.0.0.2,10.0.2.7=127.0.0.3" (spaces around items allowed; "" is the empty map).
// InvalidArgument naming the bad item for anything else: a missing '=', an address that is not
// dotted IPv4, or an address mapped twice.
Result<AddressMap> parse_address_map(std::string_view text);

// The endpoint for `address`: its mapping, or the address itself.
std::string resolve_address(const AddressMap& map, std::string_view address);

}  // namespace efsas::nfs
