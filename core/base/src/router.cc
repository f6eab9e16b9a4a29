// Rendezvous hashing: weight(target, key) mixes a 64-bit hash of the target id, computed once per
// Router, with a 64-bit hash of the key. Results must agree between processes and machines, so the
// hash reads bytes in a fixed (little-endian) order and has no per-process seed.
#include "efsas/router.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "efsas/result.h"

namespace efsas {
namespace {

// The MurmurHash3 64-bit finaliser: every input bit affects every output bit.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t load_le64(const char* p) {
  std::uint64_t word = 0;
  std::memcpy(&word, p, sizeof word);
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
  return word;
}

// A 64-bit string hash: each 8-byte word is absorbed through the finaliser, the tail is zero-padded
// and the length enters the initial state, so "a" and "a\0" differ.
std::uint64_t hash64(std::string_view bytes, std::uint64_t domain) {
  constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h = mix64(domain ^ (static_cast<std::uint64_t>(bytes.size()) * kGolden));
  std::size_t pos = 0;
  for (; pos + 8 <= bytes.size(); pos += 8) {
    h = mix64(h ^ load_le64(bytes.data() + pos)) + kGolden;
  }
  if (pos < bytes.size()) {
    char tail[8] = {};
    std::memcpy(tail, bytes.data() + pos, bytes.size() - pos);
    h = mix64(h ^ load_le64(tail)) + kGolden;
  }
  return mix64(h);
}

// Distinct domains keep a target id and a key with the same bytes from hashing alike.
constexpr std::uint64_t kTargetDomain = 0x5441524745545f31ULL;  // "TARGET_1"
constexpr std::uint64_t kKeyDomain = 0x4b45595f5f5f5f31ULL;     // "KEY____1"

std::uint64_t weight(std::uint64_t target_seed, std::uint64_t key_hash) {
  return mix64(target_seed ^ key_hash);
}

}  // namespace

std::uint64_t rendezvous_weight(std::string_view target_id, std::string_view key) {
  return weight(hash64(target_id, kTargetDomain), hash64(key, kKeyDomain));
}

Router::Router(std::vector<std::string> target_ids) : target_ids_(std::move(target_ids)) {
  target_seeds_.reserve(target_ids_.size());
  for (const std::string& id : target_ids_) target_seeds_.push_back(hash64(id, kTargetDomain));
  std::vector<std::string_view> sorted(target_ids_.begin(), target_ids_.end());
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    fail_invariant("Router: target ids must be unique");
  }
}

std::vector<std::size_t> Router::rank(std::string_view key) const {
  const std::size_t n = target_ids_.size();
  std::vector<std::size_t> order(n);
  if (n <= 1) return order;  // empty, or {0}
  const std::uint64_t key_hash = hash64(key, kKeyDomain);
  // Weights on the stack for the usual handful of targets; a heap buffer beyond that.
  constexpr std::size_t kInline = 32;
  std::array<std::uint64_t, kInline> inline_weights{};
  std::vector<std::uint64_t> heap_weights;
  std::uint64_t* weights = inline_weights.data();
  if (n > kInline) {
    heap_weights.resize(n);
    weights = heap_weights.data();
  }
  for (std::size_t i = 0; i < n; ++i) {
    weights[i] = weight(target_seeds_[i], key_hash);
    order[i] = i;
  }
  // Equal weights are astronomically rare; ordering them by id keeps the result independent of
  // the order in which target ids were given.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (weights[a] != weights[b]) return weights[a] > weights[b];
    return target_ids_[a] < target_ids_[b];
  });
  return order;
}

std::size_t Router::pick(std::string_view key) const {
  const std::size_t n = target_ids_.size();
  if (n <= 1) return 0;  // no targets (0 == size()) or the only one
  const std::uint64_t key_hash = hash64(key, kKeyDomain);
  std::size_t best = 0;
  std::uint64_t best_weight = weight(target_seeds_[0], key_hash);
  for (std::size_t i = 1; i < n; ++i) {
    const std::uint64_t w = weight(target_seeds_[i], key_hash);
    if (w > best_weight || (w == best_weight && target_ids_[i] < target_ids_[best])) {
      best = i;
      best_weight = w;
    }
  }
  return best;
}

}  // namespace efsas
