// Rendezvous (highest-random-weight) hashing of file paths over mount targets. Each path has a
// full ranking of targets; callers use the first healthy one and fail over down the ranking.
// Adding a target moves only the keys it wins; removing one moves only the keys it had.
// Thread safety: a Router is immutable after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace efsas {

// The weight of (target, key); the target with the highest weight wins the key. Fixed across
// processes, machines and releases (every file-service task must route a path alike): changing
// it would move every file to another mount target.
std::uint64_t rendezvous_weight(std::string_view target_id, std::string_view key);

class Router {
 public:
  // target_ids must be unique (a duplicate aborts: validate the list first); their order does not
  // affect any result other than the index values.
  explicit Router(std::vector<std::string> target_ids);

  std::size_t size() const { return target_ids_.size(); }
  const std::vector<std::string>& target_ids() const { return target_ids_; }

  // Indexes into target_ids(), best first. Empty when there are no targets.
  std::vector<std::size_t> rank(std::string_view key) const;
  // The best target's index; size() when there are no targets.
  std::size_t pick(std::string_view key) const;

 private:
  std::vector<std::string> target_ids_;
  std::vector<std::uint64_t> target_seeds_;  // per-target hash, computed once
};

}  // namespace efsas
