// Service metrics in the Prometheus text format: requests by route, method, status and mount
// target, latency histograms by route, bytes in and out, and configuration reload counters.
// Thread safety: all methods may be called from any thread. Requests are counted in shards, one per
// recording thread as far as there are shards, so network threads never wait for each other;
// render() and target_latency() add the shards up.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "efsas/service/routing_table.h"

namespace efsas::service {

class Metrics {
 public:
  // Upper bounds of the latency histogram buckets, in seconds.
  static constexpr std::array<double, 12> kLatencyBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

  void record_request(std::string_view route, std::string_view method, int status,
                      std::string_view target, std::uint64_t bytes_in, std::uint64_t bytes_out,
                      std::chrono::nanoseconds latency);
  void record_reload(bool success);
  void record_stale_generation() { stale_generations_.fetch_add(1); }
  // A request that found no healthy mount target and tried them all (RoutingTable::Candidates).
  void record_fail_open() { fail_open_requests_.fetch_add(1); }

  // Request bodies held now, as the HTTP server takes and gives back its upload budgets.
  struct Uploads {
    std::atomic<std::uint64_t> memory_bytes{0};  // body memory being filled or handled
    std::atomic<std::uint64_t> spool_bytes{0};   // spooled body bytes being received or handled
    std::atomic<std::uint64_t> spooled{0};       // bodies received into the spool, ever
  };
  Uploads& uploads() { return uploads_; }
  std::uint64_t reload_failures() const { return reload_failures_.load(); }
  std::uint64_t reloads() const { return reloads_.load(); }

  // Requests a mount target answered and the seconds they took in all (for /targets).
  struct TargetLatency {
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };
  TargetLatency target_latency(const std::string& target) const;

  // The whole exposition, including per-target health from `table` (may be null).
  std::string render(const RoutingTable* table) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  using RequestKey = std::tuple<std::string, std::string, int, std::string>;
  using RequestKeyView = std::tuple<std::string_view, std::string_view, int, std::string_view>;
  // Orders keys and views of keys alike, so a lookup with views allocates nothing.
  struct RequestKeyLess {
    using is_transparent = void;
    static RequestKeyView view(const RequestKey& key) {
      return {std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key)};
    }
    static const RequestKeyView& view(const RequestKeyView& key) { return key; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return view(a) < view(b);
    }
  };
  // A request series' count, and where its latency goes: the entries of `latency` and
  // `target_latency` it adds to (map nodes stay put, so one lookup finds all three).
  struct RequestEntry {
    std::uint64_t count = 0;
    Histogram* latency = nullptr;
    TargetLatency* target_latency = nullptr;  // null for requests no mount target served
  };
  struct Shard {
    std::mutex mutex;
    // Transparent comparators: a lookup with string views allocates nothing.
    std::map<RequestKey, RequestEntry, RequestKeyLess> requests;
    std::map<std::string, Histogram, std::less<>> latency;
    std::map<std::string, TargetLatency, std::less<>> target_latency;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
  };
  static constexpr std::size_t kShards = 8;
  Shard& shard_for_this_thread();

  mutable std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> next_shard_{0};
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> reload_failures_{0};
  std::atomic<std::uint64_t> stale_generations_{0};
  std::atomic<std::uint64_t> fail_open_requests_{0};
  Uploads uploads_;
};

}  // namespace efsas::service
