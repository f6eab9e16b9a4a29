// Mount-target lists for the service's unit tests.
#pragma once

#include <cstdint>
#include <string>

#include "efsas/mount_target_list.h"

namespace efsas::service {

// A list of `count` available mount targets, target i in AZ ap-northeast-1<a + i>.
inline MountTargetList make_list(int count, std::uint64_t generation) {
  MountTargetList list;
  list.file_system_id = "fs-0123456789abcdef0";
  list.generation = generation;
  list.updated_at = "2026-11-25T19:30:00.000Z";
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    list.mount_targets.push_back(MountTarget{
        "fsmt-0000000000000000" + n, "ap-northeast-1" + std::string(1, static_cast<char>('a' + i)),
        "apne1-az" + n, "subnet-0000000" + n, "10.0.1." + n, "available"});
  }
  return list;
}

}  // namespace efsas::service
