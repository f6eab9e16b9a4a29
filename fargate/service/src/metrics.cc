// Prometheus text exposition of the service's counters and histograms.
#include "efsas/service/metrics.h"

#include <charconv>
#include <cstdio>
#include <sstream>

namespace efsas::service {
namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The shortest text that reads back as the same double, in fixed notation ("0.0005", not
// "5e-04": a bucket's `le` label must not change between versions). "%g" kept six digits, and a
// latency sum past a million seconds (a day of traffic) then moved in steps of ten.
std::string format_double(double value) {
  char buffer[64];
  std::to_chars_result written =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  if (written.ec != std::errc()) written = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (written.ec != std::errc()) return "NaN";
  return std::string(buffer, written.ptr);
}

// The method label: a method HTTP defines, or "other" for whatever else a client sends, so that
// clients cannot grow the set of label values (and the memory kept for them) without bound.
std::string_view method_label(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",     "HEAD",  "PUT",   "DELETE", "POST",
                                                "OPTIONS", "PATCH", "TRACE", "CONNECT"};
  for (const std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace

Metrics::Shard& Metrics::shard_for_this_thread() {
  // A thread keeps the shard it first drew, per Metrics object (tests make several).
  thread_local const Metrics* owner = nullptr;
  thread_local std::size_t index = 0;
  if (owner != this) {
    owner = this;
    index = next_shard_.fetch_add(1) % kShards;
  }
  return shards_[index];
}

void Metrics::record_request(std::string_view route, std::string_view method, int status,
                             std::string_view target, std::uint64_t bytes_in,
                             std::uint64_t bytes_out, std::chrono::nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  method = method_label(method);
  Shard& shard = shard_for_this_thread();
  std::lock_guard lock(shard.mutex);
  auto found = shard.requests.find(RequestKeyView{route, method, status, target});
  if (found == shard.requests.end()) {
    RequestEntry entry;
    auto histogram = shard.latency.find(route);
    if (histogram == shard.latency.end()) {
      histogram = shard.latency.emplace(std::string(route), Histogram{}).first;
    }
    entry.latency = &histogram->second;
    if (!target.empty()) {
      auto per_target = shard.target_latency.find(target);
      if (per_target == shard.target_latency.end()) {
        per_target = shard.target_latency.emplace(std::string(target), TargetLatency{}).first;
      }
      entry.target_latency = &per_target->second;
    }
    found = shard.requests
                .emplace(RequestKey{std::string(route), std::string(method), status,
                                    std::string(target)},
                         entry)
                .first;
  }
  RequestEntry& entry = found->second;
  ++entry.count;
  Histogram& histogram = *entry.latency;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++histogram.buckets[i];
  }
  ++histogram.count;
  histogram.sum += seconds;
  if (entry.target_latency != nullptr) {
    ++entry.target_latency->count;
    entry.target_latency->sum_seconds += seconds;
  }
  shard.bytes_in += bytes_in;
  shard.bytes_out += bytes_out;
}

Metrics::TargetLatency Metrics::target_latency(const std::string& target) const {
  TargetLatency total;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    const auto found = shard.target_latency.find(target);
    if (found == shard.target_latency.end()) continue;
    total.count += found->second.count;
    total.sum_seconds += found->second.sum_seconds;
  }
  return total;
}

void Metrics::record_reload(bool success) { (success ? reloads_ : reload_failures_).fetch_add(1); }

std::string Metrics::render(const RoutingTable* table) const {
  std::map<RequestKey, std::uint64_t> requests;
  std::map<std::string, Histogram> latency;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [key, entry] : shard.requests) requests[key] += entry.count;
    for (const auto& [route, histogram] : shard.latency) {
      Histogram& sum = latency[route];
      for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        sum.buckets[i] += histogram.buckets[i];
      }
      sum.count += histogram.count;
      sum.sum += histogram.sum;
    }
    bytes_in += shard.bytes_in;
    bytes_out += shard.bytes_out;
  }
  std::ostringstream out;
  {
    out << "# HELP file_service_requests_total HTTP requests by route, method, status and mount "
           "target.\n# TYPE file_service_requests_total counter\n";
    for (const auto& [key, count] : requests) {
      const auto& [route, method, status, target] = key;
      out << "file_service_requests_total{route=\"" << escape_label(route) << "\",method=\""
          << escape_label(method) << "\",status=\"" << status << "\",mount_target=\""
          << escape_label(target) << "\"} " << count << "\n";
    }
    out << "# HELP file_service_request_duration_seconds Time to handle a request.\n"
           "# TYPE file_service_request_duration_seconds histogram\n";
    for (const auto& [route, histogram] : latency) {
      const std::string label = "route=\"" + escape_label(route) + "\"";
      for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        out << "file_service_request_duration_seconds_bucket{" << label << ",le=\""
            << format_double(kLatencyBuckets[i]) << "\"} " << histogram.buckets[i] << "\n";
      }
      out << "file_service_request_duration_seconds_bucket{" << label << ",le=\"+Inf\"} "
          << histogram.count << "\n";
      out << "file_service_request_duration_seconds_sum{" << label << "} "
          << format_double(histogram.sum) << "\n";
      out << "file_service_request_duration_seconds_count{" << label << "} " << histogram.count
          << "\n";
    }
    out << "# HELP file_service_received_bytes_total Request body bytes.\n"
           "# TYPE file_service_received_bytes_total counter\nfile_service_received_bytes_total "
        << bytes_in << "\n";
    out << "# HELP file_service_sent_bytes_total Response body bytes.\n"
           "# TYPE file_service_sent_bytes_total counter\nfile_service_sent_bytes_total "
        << bytes_out << "\n";
  }
  out << "# HELP file_service_upload_memory_bytes Request body memory held now (limit: "
         "UPLOAD_MEMORY_LIMIT_BYTES).\n"
         "# TYPE file_service_upload_memory_bytes gauge\nfile_service_upload_memory_bytes "
      << uploads_.memory_bytes.load() << "\n";
  out << "# HELP file_service_upload_spool_bytes Request body bytes in the spool now (limit: "
         "UPLOAD_SPOOL_LIMIT_BYTES).\n"
         "# TYPE file_service_upload_spool_bytes gauge\nfile_service_upload_spool_bytes "
      << uploads_.spool_bytes.load() << "\n";
  out << "# HELP file_service_spooled_uploads_total Request bodies that found no room in memory "
         "and were received into the spool.\n"
         "# TYPE file_service_spooled_uploads_total counter\nfile_service_spooled_uploads_total "
      << uploads_.spooled.load() << "\n";
  out << "# HELP file_service_config_reloads_total Mount-target lists applied.\n"
         "# TYPE file_service_config_reloads_total counter\nfile_service_config_reloads_total "
      << reloads_.load() << "\n";
  out << "# HELP file_service_config_reload_failures_total Reloads that kept the last good "
         "list (invalid document or source outage).\n"
         "# TYPE file_service_config_reload_failures_total counter\n"
         "file_service_config_reload_failures_total "
      << reload_failures_.load() << "\n";
  out << "# HELP file_service_config_stale_generations_total Lists ignored for an older "
         "generation.\n# TYPE file_service_config_stale_generations_total counter\n"
         "file_service_config_stale_generations_total "
      << stale_generations_.load() << "\n";
  out << "# HELP file_service_config_generation Generation of the active mount-target list.\n"
         "# TYPE file_service_config_generation gauge\nfile_service_config_generation "
      << (table != nullptr ? table->list.generation : 0) << "\n";
  out << "# HELP file_service_fail_open_requests_total Requests that found no healthy mount "
         "target and tried every one.\n"
         "# TYPE file_service_fail_open_requests_total counter\n"
         "file_service_fail_open_requests_total "
      << fail_open_requests_.load() << "\n";
  out << "# HELP file_service_mount_target_healthy 1 when the mount target passes its health "
         "checks.\n# TYPE file_service_mount_target_healthy gauge\n";
  if (table != nullptr) {
    for (const auto& entry : table->targets) {
      out << "file_service_mount_target_healthy{mount_target=\"" << escape_label(entry.target.id)
          << "\",availability_zone=\"" << escape_label(entry.target.availability_zone) << "\"} "
          << (entry.status->healthy() ? 1 : 0) << "\n";
    }
    out << "# HELP file_service_mount_target_failures_total Back-end failures that moved a "
           "request to the next mount target.\n"
           "# TYPE file_service_mount_target_failures_total counter\n";
    for (const auto& entry : table->targets) {
      out << "file_service_mount_target_failures_total{mount_target=\""
          << escape_label(entry.target.id) << "\"} " << entry.status->failures.load() << "\n";
    }
  }
  return out.str();
}

}  // namespace efsas::service
