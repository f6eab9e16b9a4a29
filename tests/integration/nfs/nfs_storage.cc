// NfsStorage: GaneshaCluster behind file-service's StorageFixture interface.
#include "nfs_storage.h"

namespace efsas::service::testing {

NfsStorage::NfsStorage() = default;

std::map<std::string, std::string> NfsStorage::env() const {
  std::string map;
  for (std::size_t i = 0; i < cluster_.size(); ++i) {
    if (!map.empty()) map += ",";
    map += "10.0." + std::to_string(i) + ".10=" + cluster_.address(i);
  }
  // NFS_TIMEOUT_MS is left at its default (5 s): the servers these cases take down are killed,
  // and fail at once; a test that hangs one (pause) sets its own. A shorter one made a server that
  // was only slow, beside a heavy test on a loaded machine, look dead.
  return {{"STORAGE_BACKEND", "nfs"}, {"NFS_ADDRESS_MAP", map}, {"NFS_SESSIONS_PER_TARGET", "4"}};
}

void NfsStorage::make_unavailable(int index) { cluster_.kill(static_cast<std::size_t>(index)); }
void NfsStorage::restore(int index) { cluster_.restart(static_cast<std::size_t>(index)); }
void NfsStorage::pause(int index) { cluster_.pause(static_cast<std::size_t>(index)); }
void NfsStorage::resume(int index) { cluster_.resume(static_cast<std::size_t>(index)); }

std::unique_ptr<StorageFixture> make_nfs_storage() { return std::make_unique<NfsStorage>(); }

}  // namespace efsas::service::testing
