// The plain-directory back end: one local directory per mount target (a host mount of that
// target, or any directory in development). Paths resolve beneath the root without following any
// symbolic link (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or O_NOFOLLOW per component).
// Thread safety: as Backend (all methods may run concurrently).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "efsas/mount_target_list.h"
#include "efsas/path.h"
#include "efsas/result.h"
#include "efsas/service/backend.h"

namespace efsas::service {

inline constexpr std::chrono::nanoseconds kDefaultReadRootCheckInterval = std::chrono::seconds(1);

// Writers of one file system lock a name against each other in lock files at its root: an OFD
// write lock on one byte of one of kNameLockFiles files (".efsas-locks-00" to "-3f"), both
// chosen by a hash of the path, held from a write's last check of the file under the name to its
// rename or removal. Several files, because EFS caps the locks held on one file at once. The
// file under the name is never held open meanwhile: on an NFS client a file that is open when
// another is renamed over it, or when it is removed, is first renamed aside ("silly rename"),
// which empties the name for a moment and leaves a .nfsXXXX file behind. Lock files are never
// removed, by the sweep or otherwise.
inline constexpr std::string_view kNameLockPrefix = ".efsas-locks-";
inline constexpr unsigned kNameLockFiles = 64;
struct NameLockPlace {
  std::string file;  // a name at the root
  std::uint64_t offset = 0;
};
NameLockPlace name_lock_place(std::string_view path);
inline bool is_name_lock_file(std::string_view name) { return name.starts_with(kNameLockPrefix); }
// The reserved files no temporary-file sweep removes.
inline bool is_kept_reserved_file(std::string_view name) {
  return is_name_lock_file(name) || name == efsas::kLeaseProbeName;
}

struct DirectoryBackendOptions {
  // The directory that stands for the mount target's file system root. It is kept open; a stat
  // of this path checks that it still names the same directory (a remount or a moved link
  // replaces it) before every write, removal and probe, so nothing is written through an old
  // root, and before a read once the last check is older than read_root_check_interval. A read
  // that fails through an unchecked root checks at once and, if the root changed, runs again.
  std::string root;
  // Distinguishes this process's temporary files from those of other tasks sharing the file
  // system (e.g. a random hex string chosen at start-up). Letters, digits, '-' and '_' only.
  std::string instance_id;
  // How long reads trust the last check of the root (0: check before every read too). Within it
  // a read may still come from a directory the root path stopped naming a moment ago, as with
  // any read that raced the change.
  std::chrono::nanoseconds read_root_check_interval = kDefaultReadRootCheckInterval;
};

std::shared_ptr<Backend> make_directory_backend(MountTarget target,
                                                DirectoryBackendOptions options);

// Expands {id}, {az}, {az_id}, {ip} and {subnet} in a mount-path template such as
// "/mnt/efs/{az}". InvalidArgument for an unknown or unterminated placeholder.
Result<std::string> expand_mount_path_template(std::string_view path_template,
                                               const MountTarget& target);

// Makes directory back ends whose roots come from a mount-path template.
std::shared_ptr<BackendFactory> make_directory_backend_factory(
    std::string path_template, std::string instance_id,
    std::chrono::nanoseconds read_root_check_interval = kDefaultReadRootCheckInterval);

}  // namespace efsas::service
