// file-service's NFS back end (STORAGE_BACKEND=nfs): each mount target is reached over NFSv4
// at its own IP address from user space, through a pool of libnfs sessions, so that one task
// can use every mount target of the file system (an ECS EFS volume goes through one only).
// Thread safety: as efsas::service::Backend (every method may run concurrently).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "efsas/clock.h"
#include "efsas/mount_target_list.h"
#include "efsas/nfs/address_map.h"
#include "efsas/service/backend.h"

namespace efsas::nfs {

struct NfsBackendOptions {
  std::string export_path = "/";            // NFS_EXPORT_PATH
  std::optional<int> uid;                   // NFS_UID (EFS access points usually enforce one)
  std::optional<int> gid;                   // NFS_GID
  std::size_t sessions_per_target = 4;      // NFS_SESSIONS_PER_TARGET
  std::chrono::milliseconds timeout{5000};  // NFS_TIMEOUT_MS: every NFS call
  std::chrono::milliseconds keep_alive_interval{15000};
  AddressMap address_map;  // NFS_ADDRESS_MAP
  // Unique per process (e.g. random hex chosen at start-up): NFSv4 client names and temporary
  // file names are built from it. Letters, digits, '-' and '_' only.
  std::string instance_id;
  // Files up to this size are read whole when opened, so the session goes back to the pool at
  // once instead of staying with a slow client; larger ones are streamed over a held session.
  std::size_t read_whole_limit = 1 << 20;
};

// The back end for one mount target, dialling resolve_address(map, target.ip_address). Starts
// a thread that keeps idle sessions' NFSv4 leases alive; it stops when the back end is destroyed.
std::shared_ptr<service::Backend> make_nfs_backend(MountTarget target, NfsBackendOptions options,
                                                   std::shared_ptr<const Clock> clock);

std::shared_ptr<service::BackendFactory> make_nfs_backend_factory(
    NfsBackendOptions options, std::shared_ptr<const Clock> clock);

}  // namespace efsas::nfs
