// The pure reconcile planner; the rules are in docs/file-monitor.md ("What a run does").
#include "efsas/monitor/planner.h"

#include <algorithm>
#include <limits>
#include <set>

namespace efsas::monitor {

bool occupies_az(const std::string& state) {
  return state != "deleting" && state != "deleted" && state != "error";
}

bool blocks_az(const std::string& state) { return state != "deleted"; }

int desired_mount_targets(std::uint64_t files, std::uint64_t threshold, int az_count,
                          int max_mount_targets) {
  if (threshold == 0) threshold = 1;
  const std::uint64_t wanted =
      std::max<std::uint64_t>(1, files / threshold + (files % threshold != 0 ? 1 : 0));
  const std::uint64_t cap =
      static_cast<std::uint64_t>(std::max(1, std::min(az_count, max_mount_targets)));
  return static_cast<int>(std::min(wanted, cap));
}

std::vector<Subnet> creation_order(std::vector<Subnet> subnets) {
  std::sort(subnets.begin(), subnets.end(), [](const Subnet& a, const Subnet& b) {
    if (a.availability_zone != b.availability_zone) {
      return a.availability_zone < b.availability_zone;
    }
    return a.id < b.id;
  });
  return subnets;
}

namespace {

// The entry `published` has for `target` when `target` is updating (see document_for).
const MountTarget* published_entry(const MountTargetList* published, const MountTarget& target) {
  if (published == nullptr || target.state != "updating") return nullptr;
  for (const auto& entry : published->mount_targets) {
    if (entry.id == target.id) return &entry;
  }
  return nullptr;
}

}  // namespace

MountTargetList document_for(const std::string& file_system_id,
                             const std::vector<MountTarget>& mount_targets,
                             std::uint64_t generation, SystemTime now,
                             const MountTargetList* published) {
  MountTargetList list;
  list.file_system_id = file_system_id;
  list.generation = generation;
  list.updated_at = format_iso8601_ms(now);
  for (const auto& target : mount_targets) {
    if (target.state == "available" && is_dotted_ipv4(target.ip_address)) {
      list.mount_targets.push_back(target);
    } else if (const MountTarget* kept = published_entry(published, target)) {
      list.mount_targets.push_back(*kept);
    }
  }
  std::sort(list.mount_targets.begin(), list.mount_targets.end(),
            [](const MountTarget& a, const MountTarget& b) { return a.id < b.id; });
  return list;
}

namespace {

// The generation a new document takes: one more than the highest known. nullopt when that is
// already the largest a generation can be (a new one would wrap to 0, below what readers hold).
std::optional<std::uint64_t> next_generation(const PublishedDocument& current) {
  std::uint64_t floor = current.generation_floor;
  if (current.state == DocumentState::kValid) floor = std::max(floor, current.list.generation);
  if (floor == std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
  return floor + 1;
}

}  // namespace

Plan plan_reconcile(const Observation& observed, const PlanLimits& limits, SystemTime now) {
  Plan plan;
  plan.notes = observed.notes;
  const PublishedDocument& current = observed.document;
  const MountTargetList* published =
      current.state == DocumentState::kValid ? &current.list : nullptr;
  std::set<std::string> used_azs;
  std::set<std::string> blocked_azs;  // held by a mount target that does not serve it
  for (const auto& target : observed.mount_targets) {
    if (!occupies_az(target.state)) {
      if (!blocks_az(target.state)) continue;
      blocked_azs.insert(target.availability_zone);
      plan.notes.push_back(target.id + " in " + target.availability_zone + " is " + target.state +
                           ": not counted, and EFS takes no other mount target in that AZ until " +
                           (target.state == "error" ? "it is deleted" : "it is gone"));
      continue;
    }
    ++plan.current_mount_targets;
    used_azs.insert(target.availability_zone);
    if (published_entry(published, target) != nullptr) {
      plan.notes.push_back(target.id + " in " + target.availability_zone +
                           " is updating: kept in the document, as it serves meanwhile");
    } else if (target.state != "available") {
      plan.notes.push_back(target.id + " in " + target.availability_zone + " is " + target.state +
                           ": not published yet");
    } else if (!is_dotted_ipv4(target.ip_address)) {
      plan.notes.push_back(target.id + " in " + target.availability_zone +
                           " has no IPv4 address: left out of the document");
    }
  }

  // A One Zone file system takes a mount target in its own AZ alone.
  std::vector<Subnet> subnets;
  std::size_t other_zone_subnets = 0;
  for (const auto& subnet : observed.subnets) {
    if (observed.one_zone_az.empty() || subnet.availability_zone == observed.one_zone_az) {
      subnets.push_back(subnet);
    } else {
      ++other_zone_subnets;
    }
  }
  if (other_zone_subnets > 0) {
    plan.notes.push_back("One Zone file system in " + observed.one_zone_az +
                         ": it can have one mount target, in that AZ; " +
                         std::to_string(other_zone_subnets) +
                         " candidate subnet(s) in other AZs left out");
  }
  std::set<std::string> candidate_azs;
  for (const auto& subnet : subnets) candidate_azs.insert(subnet.availability_zone);
  // AZs already served count too: the cap is how many AZs could hold a mount target. An AZ held
  // by a mount target in `error` counts: the gap between desired and current shows it.
  std::set<std::string> possible_azs = candidate_azs;
  possible_azs.insert(used_azs.begin(), used_azs.end());
  if (!observed.one_zone_az.empty()) possible_azs = {observed.one_zone_az};
  plan.desired_mount_targets =
      desired_mount_targets(observed.scan.files, limits.file_count_threshold,
                            static_cast<int>(possible_azs.size()), limits.max_mount_targets);

  const bool file_system_ready =
      observed.file_system_error.empty() &&
      (observed.file_system_state.empty() || observed.file_system_state == "available");
  plan.scaling_allowed = observed.scan.complete && file_system_ready;
  if (!observed.scan.complete) {
    plan.notes.push_back("scan incomplete (" + std::to_string(observed.scan.files) +
                         " files so far): no scaling this run");
  }
  if (!observed.file_system_error.empty()) {
    plan.notes.push_back("the file system could not be described: no mount target is created");
  } else if (!file_system_ready) {
    plan.notes.push_back("file system is " + observed.file_system_state +
                         ": EFS creates mount targets only for an available one");
  }
  const int missing = plan.desired_mount_targets - plan.current_mount_targets;
  if (plan.scaling_allowed && missing > 0) {
    const int budget = std::min(missing, std::max(0, limits.max_creates_per_run));
    std::set<std::string> seen_azs = used_azs;
    seen_azs.insert(blocked_azs.begin(), blocked_azs.end());
    seen_azs.insert(observed.failed_azs.begin(), observed.failed_azs.end());
    for (const auto& subnet : creation_order(subnets)) {
      if (static_cast<int>(plan.creates.size()) >= budget) break;
      if (seen_azs.count(subnet.availability_zone) != 0) continue;
      if (subnet.available_ip_addresses <= 0) {
        plan.notes.push_back(subnet.id + " in " + subnet.availability_zone +
                             " has no free IP addresses: skipped");
        continue;
      }
      seen_azs.insert(subnet.availability_zone);
      plan.creates.push_back({subnet.id, subnet.availability_zone});
    }
    if (static_cast<int>(plan.creates.size()) < budget) {
      plan.notes.push_back("wanted " + std::to_string(plan.desired_mount_targets) +
                           " mount targets but no usable subnet in another AZ");
    }
    if (missing > budget) {
      plan.notes.push_back(std::to_string(missing - budget) +
                           " more mount target(s) left for later runs (MAX_CREATES_PER_RUN)");
    }
  }

  const std::optional<std::uint64_t> generation = next_generation(current);
  MountTargetList wanted = document_for(observed.file_system_id, observed.mount_targets,
                                        generation.value_or(0), now, published);
  if (current.state == DocumentState::kValid && same_content(current.list, wanted) &&
      !observed.outranked) {
    // Nothing to publish.
  } else if (!generation.has_value()) {
    plan.publish_problem =
        "the mount-target document's generation is at its maximum (18446744073709551615): a new "
        "document cannot go above it; delete the parameter to start again";
    plan.notes.push_back(plan.publish_problem);
  } else {
    if (current.state == DocumentState::kMissing) {
      plan.notes.push_back("mount-target document missing: creating it");
    } else if (current.state == DocumentState::kMalformed) {
      plan.notes.push_back("mount-target document malformed (" + current.problem +
                           "): replacing it");
    }
    plan.publish = std::move(wanted);
    plan.force_ecs_deployment = limits.force_ecs_deployment;
  }
  return plan;
}

}  // namespace efsas::monitor
