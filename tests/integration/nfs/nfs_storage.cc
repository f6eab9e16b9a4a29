// NfsStorage: GaneshaCluster behind file-service's StorageFixture interface.
#include "nfs_storage.h"

#include <nlohmann/json.hpp>

namespace efsas::service::testing {

NfsStorage::NfsStorage() = default;

std::map<std::string, std::string> NfsStorage::env() const {
  std::string map;
  for (std::size_t i = 0; i < cluster_.size(); ++i) {
    if (!map.empty()) map += ",";
    map += "10.0." + std::to_string(i) + ".10=" + cluster_.address(i);
  }
  return {{"STORAGE_BACKEND", "nfs"},
          {"NFS_ADDRESS_MAP", map},
          {"NFS_TIMEOUT_MS", "1500"},
          {"NFS_SESSIONS_PER_TARGET", "4"}};
}

std::string NfsStorage::target_id(int index) const {
  return "fsmt-0000000000000000" + std::to_string(index);
}

std::string NfsStorage::list_document(std::uint64_t generation, int count) const {
  nlohmann::json targets = nlohmann::json::array();
  for (int i = 0; i < count; ++i) {
    targets.push_back({{"id", target_id(i)},
                       {"availability_zone", std::string("ap-northeast-1") + "acd"[i % 3]},
                       {"availability_zone_id", "apne1-az" + std::to_string(i + 1)},
                       {"subnet_id", "subnet-0000000" + std::to_string(i)},
                       {"ip_address", "10.0." + std::to_string(i) + ".10"},
                       {"state", "available"}});
  }
  return nlohmann::json{{"schema_version", 1},
                        {"file_system_id", "fs-0123456789abcdef0"},
                        {"generation", generation},
                        {"updated_at", "2026-11-25T19:30:00.000Z"},
                        {"mount_targets", targets}}
      .dump();
}

void NfsStorage::make_unavailable(int index) { cluster_.kill(static_cast<std::size_t>(index)); }
void NfsStorage::restore(int index) { cluster_.restart(static_cast<std::size_t>(index)); }
void NfsStorage::pause(int index) { cluster_.pause(static_cast<std::size_t>(index)); }
void NfsStorage::resume(int index) { cluster_.resume(static_cast<std::size_t>(index)); }

std::unique_ptr<StorageFixture> make_nfs_storage() { return std::make_unique<NfsStorage>(); }

}  // namespace efsas::service::testing
