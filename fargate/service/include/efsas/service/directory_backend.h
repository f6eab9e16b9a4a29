// The plain-directory back end: one local directory per mount target (a host mount of that
// target, or any directory in development). Paths resolve beneath the root without following any
// symbolic link (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or O_NOFOLLOW per component).
// Thread safety: as Backend (all methods may run concurrently).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "efsas/mount_target_list.h"
#include "efsas/result.h"
#include "efsas/service/backend.h"

namespace efsas::service {

struct DirectoryBackendOptions {
  // The directory that stands for the mount target's file system root. It is opened afresh for
  // each operation, so a directory that disappears or is remounted is noticed at once.
  std::string root;
  // Distinguishes this process's temporary files from those of other tasks sharing the file
  // system (e.g. a random hex string chosen at start-up). Letters, digits, '-' and '_' only.
  std::string instance_id;
};

std::shared_ptr<Backend> make_directory_backend(MountTarget target,
                                                DirectoryBackendOptions options);

// Expands {id}, {az}, {az_id}, {ip} and {subnet} in a mount-path template such as
// "/mnt/efs/{az}". InvalidArgument for an unknown or unterminated placeholder.
Result<std::string> expand_mount_path_template(std::string_view path_template,
                                               const MountTarget& target);

// Makes directory back ends whose roots come from a mount-path template.
std::shared_ptr<BackendFactory> make_directory_backend_factory(std::string path_template,
                                                               std::string instance_id);

}  // namespace efsas::service
