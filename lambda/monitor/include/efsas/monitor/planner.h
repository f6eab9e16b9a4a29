// The reconcile planner: from what a run observed (mount targets, subnets, the published
// document, the scan result) to what it should do. Pure: no I/O, no clock (time passed in), so
// it is tested exhaustively, with properties, without AWS.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "efsas/clock.h"
#include "efsas/mount_target_list.h"

namespace efsas::monitor {

struct Subnet {
  std::string id;
  std::string availability_zone;
  std::string availability_zone_id;
  std::string vpc_id;
  std::int64_t available_ip_addresses = 0;
};

struct ScanSummary {
  std::uint64_t files = 0;
  std::uint64_t errors = 0;
  double seconds = 0;
  // False when the walk stopped early (deadline) or failed: the count is a lower bound.
  bool complete = false;
  // The scan cache: "disabled", "missing", "loaded", "invalid" or "foreign" (counter's
  // CacheState), and how many directories were listed and how many proven unchanged.
  std::string cache = "disabled";
  std::uint64_t directories_read = 0;
  std::uint64_t directories_reused = 0;
};

enum class DocumentState { kMissing, kMalformed, kValid };

// The SSM parameter as read.
struct PublishedDocument {
  DocumentState state = DocumentState::kMissing;
  MountTargetList list;  // when kValid
  std::string problem;   // when kMalformed: why it was rejected
  // The highest generation known from any source: the valid document's, one salvaged from a
  // malformed document, or the parameter's own version. A new document goes above it.
  std::uint64_t generation_floor = 0;
  std::int64_t version = 0;                 // the parameter's SSM version (0 when missing)
  std::optional<SystemTime> last_modified;  // when the parameter was last written
};

struct Observation {
  std::string file_system_id;
  // DescribeFileSystems' LifeCycleState; mount targets are created only when `available`.
  // Empty when it was not read (tests of the planner alone; or file_system_error says why).
  std::string file_system_state;
  // Why DescribeFileSystems failed (then nothing is created: the file system could be One Zone,
  // or not available), or empty.
  std::string file_system_error;
  // A One Zone file system's AZ: it can have one mount target, in that AZ. Empty: Regional.
  std::string one_zone_az;
  std::vector<MountTarget> mount_targets;  // every state
  std::vector<Subnet> subnets;             // the candidate subnets
  std::string subnets_error;               // why they could not be read (then none)
  PublishedDocument document;
  ScanSummary scan;
  // AZs where this run's CreateMountTarget already failed: not tried again in this run.
  std::set<std::string> failed_azs;
  // A version written since this run's read has a higher generation than the current document,
  // or the same one with other content. Readers that hold it ignore the current document, so the
  // document is published again above it even when its content is what exists.
  bool outranked = false;
  std::vector<std::string> notes;  // from observing (candidate subnets left out, ...)
};

struct PlanLimits {
  std::uint64_t file_count_threshold = 100000;
  int max_mount_targets = 3;
  int max_creates_per_run = 1;
  bool force_ecs_deployment = true;  // and ECS cluster/service configured
};

struct PlannedCreate {
  std::string subnet_id;
  std::string availability_zone;
};

struct Plan {
  int desired_mount_targets = 0;
  int current_mount_targets = 0;  // existing and not being deleted
  bool scaling_allowed = false;   // false on a partial scan, or a file system not `available`
  std::vector<PlannedCreate> creates;
  std::optional<MountTargetList> publish;  // the document to write, when its content changes
  bool force_ecs_deployment = false;
  std::vector<std::string> notes;  // why: skipped subnets, partial scan, malformed document...
  // Set when the document should change but cannot be written (the generation cannot go up):
  // the run reports it as an error.
  std::string publish_problem;

  bool changes_anything() const { return !creates.empty() || publish.has_value(); }
};

// Mount-target states that count as the AZ's mount target (anything but deleting/deleted/error).
bool occupies_az(const std::string& state);

// Mount-target states after which EFS takes no other mount target in the AZ (all but `deleted`):
// one `deleting` or in `error` holds its AZ without serving it, until it is gone.
bool blocks_az(const std::string& state);

// ceil(files / threshold), at least 1, at most az_count and max_mount_targets (and >= 1).
int desired_mount_targets(std::uint64_t files, std::uint64_t threshold, int az_count,
                          int max_mount_targets);

// Candidate subnets in the order creations use: by AZ name, then subnet id.
std::vector<Subnet> creation_order(std::vector<Subnet> subnets);

// The document that describes `mount_targets`: the `available` ones that have an IPv4 address
// (schema v1 has no other kind), sorted by id. One `updating` (its security groups being
// changed; it serves meanwhile) that `published` lists keeps its entry from there, so that the
// change neither takes it out of service nor redeploys the service twice.
MountTargetList document_for(const std::string& file_system_id,
                             const std::vector<MountTarget>& mount_targets,
                             std::uint64_t generation, SystemTime now,
                             const MountTargetList* published = nullptr);

Plan plan_reconcile(const Observation& observed, const PlanLimits& limits, SystemTime now);

}  // namespace efsas::monitor
