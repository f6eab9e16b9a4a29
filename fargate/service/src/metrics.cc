// Prometheus text exposition of the service's counters and histograms.
#include "efsas/service/metrics.h"

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

std::string format_double(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

}  // namespace

void Metrics::record_request(const std::string& route, const std::string& method, int status,
                             const std::string& target, std::uint64_t bytes_in,
                             std::uint64_t bytes_out, std::chrono::nanoseconds latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::lock_guard lock(mutex_);
  ++requests_[{route, method, status, target}];
  Histogram& histogram = latency_[route];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++histogram.buckets[i];
  }
  ++histogram.count;
  histogram.sum += seconds;
  if (!target.empty()) {
    TargetLatency& per_target = target_latency_[target];
    ++per_target.count;
    per_target.sum_seconds += seconds;
  }
  bytes_in_ += bytes_in;
  bytes_out_ += bytes_out;
}

Metrics::TargetLatency Metrics::target_latency(const std::string& target) const {
  std::lock_guard lock(mutex_);
  const auto found = target_latency_.find(target);
  return found == target_latency_.end() ? TargetLatency{} : found->second;
}

void Metrics::record_reload(bool success) { (success ? reloads_ : reload_failures_).fetch_add(1); }

std::string Metrics::render(const RoutingTable* table) const {
  std::ostringstream out;
  {
    std::lock_guard lock(mutex_);
    out << "# HELP file_service_requests_total HTTP requests by route, method, status and mount "
           "target.\n# TYPE file_service_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      const auto& [route, method, status, target] = key;
      out << "file_service_requests_total{route=\"" << escape_label(route) << "\",method=\""
          << escape_label(method) << "\",status=\"" << status << "\",mount_target=\""
          << escape_label(target) << "\"} " << count << "\n";
    }
    out << "# HELP file_service_request_duration_seconds Time to handle a request.\n"
           "# TYPE file_service_request_duration_seconds histogram\n";
    for (const auto& [route, histogram] : latency_) {
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
        << bytes_in_ << "\n";
    out << "# HELP file_service_sent_bytes_total Response body bytes.\n"
           "# TYPE file_service_sent_bytes_total counter\nfile_service_sent_bytes_total "
        << bytes_out_ << "\n";
  }
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
