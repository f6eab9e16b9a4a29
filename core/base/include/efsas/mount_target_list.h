// The mount-target list: the JSON document file-monitor publishes to SSM Parameter Store and
// file-service reads. Schema in docs/mount-target-list.md. Pure value types and functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "efsas/result.h"

namespace efsas {

struct MountTarget {
  std::string id;                    // "fsmt-0123456789abcdef0"
  std::string availability_zone;     // "ap-northeast-1a"
  std::string availability_zone_id;  // "apne1-az4"
  std::string subnet_id;             // "subnet-0123456789abcdef0"
  std::string ip_address;            // dotted IPv4
  std::string state;                 // EFS LifeCycleState: "available", "creating", ...

  bool operator==(const MountTarget&) const = default;
};

struct MountTargetList {
  static constexpr int kSchemaVersion = 1;
  // SSM's standard-tier parameter limit; a larger document could not be published.
  static constexpr std::size_t kMaxDocumentBytes = 4096;

  std::string file_system_id;  // "fs-0123456789abcdef0"
  // Increases on every change of content; readers ignore a generation lower than theirs.
  std::uint64_t generation = 0;
  std::string updated_at;  // ISO 8601 UTC, e.g. "2026-11-25T19:30:00.000Z"
  std::vector<MountTarget> mount_targets;

  bool operator==(const MountTargetList&) const = default;
};

// Four decimal octets 0-255 without leading zeros: the only address schema v1 holds.
bool is_dotted_ipv4(std::string_view value);

// Checks every field: ids, AZs and addresses well formed, ids unique, size within the limit.
Status validate(const MountTargetList& list);

// Strict: unknown schema_version, missing or mistyped fields, duplicate ids, unknown keys (also a
// key repeated in one object), malformed JSON and documents over kMaxDocumentBytes are
// InvalidArgument errors naming the fault. The returned mount targets are sorted by id.
Result<MountTargetList> parse_mount_target_list(std::string_view json);

// Compact JSON with mount targets sorted by id; parse(serialize(x)) == x for any valid x whose
// mount targets are sorted by id (for any other valid x, same_content holds and the rest is equal).
// Returns InvalidArgument where validate() fails, so nothing unpublishable is produced.
Result<std::string> serialize_mount_target_list(const MountTargetList& list);

// True when both lists name the same file system and the same mount targets (in any order),
// ignoring generation and updated_at: whether publishing would change anything.
bool same_content(const MountTargetList& a, const MountTargetList& b);

}  // namespace efsas
