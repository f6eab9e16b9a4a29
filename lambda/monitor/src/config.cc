// Parsing and validation of file-monitor's configuration.
#include "efsas/monitor/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace efsas::monitor {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

Result<std::uint64_t> parse_uint(const std::string& name, const std::string& text) {
  const std::string value = trim(text);
  std::uint64_t out = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      name + " must be a non-negative integer, got \"" + text + "\"");
  }
  return out;
}

Result<int> parse_int(const std::string& name, const std::string& text) {
  auto value = parse_uint(name, text);
  if (!value.ok()) return value.error();
  if (*value > 1'000'000) {
    return make_error(ErrorCode::kInvalidArgument, name + " is too large: " + text);
  }
  return static_cast<int>(*value);
}

bool id_shaped(const std::string& id, std::string_view prefix) {
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0) return false;
  return std::all_of(id.begin() + static_cast<std::ptrdiff_t>(prefix.size()), id.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; });
}

}  // namespace

std::string MonitorConfig::scan_directory() const {
  std::string base = mount_path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  std::string rel = target_directory;
  while (!rel.empty() && rel.front() == '/') rel.erase(rel.begin());
  if (rel.empty()) return base;
  return base == "/" ? "/" + rel : base + "/" + rel;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto end = comma == std::string::npos ? text.size() : comma;
    std::string item = trim(text.substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<bool> parse_bool(const std::string& name, const std::string& text) {
  const std::string value = lower(trim(text));
  if (value == "true" || value == "1" || value == "yes") return true;
  if (value == "false" || value == "0" || value == "no") return false;
  return make_error(ErrorCode::kInvalidArgument,
                    name + " must be true or false, got \"" + text + "\"");
}

Result<MonitorConfig> config_from_env(const Environment& env) {
  MonitorConfig config;
  auto get = [&](const char* name) -> const std::string* {
    const auto it = env.find(name);
    return it == env.end() || trim(it->second).empty() ? nullptr : &it->second;
  };
  if (auto* v = get("EFS_FILE_SYSTEM_ID")) config.file_system_id = trim(*v);
  if (auto* v = get("EFS_MOUNT_PATH")) config.mount_path = trim(*v);
  if (auto* v = get("EFS_TARGET_DIRECTORY")) config.target_directory = trim(*v);
  if (auto* v = get("FILE_COUNT_THRESHOLD")) {
    auto n = parse_uint("FILE_COUNT_THRESHOLD", *v);
    if (!n.ok()) return n.error();
    config.file_count_threshold = *n;
  }
  // SSM_PARAMETER_NAME and SCAN_CACHE_PATH: set-but-empty means "none" for the cache only.
  if (auto* v = get("SSM_PARAMETER_NAME")) config.ssm_parameter_name = trim(*v);
  if (auto* v = get("ECS_CLUSTER_NAME")) config.ecs_cluster_name = trim(*v);
  if (auto* v = get("ECS_SERVICE_NAME")) config.ecs_service_name = trim(*v);
  if (auto* v = get("FORCE_ECS_DEPLOYMENT")) {
    auto b = parse_bool("FORCE_ECS_DEPLOYMENT", *v);
    if (!b.ok()) return b.error();
    config.force_ecs_deployment = *b;
  }
  // A list that is set but names nothing ("," from a template) is refused: read as unset, it
  // would widen the subnets to every one of the file system's VPC.
  const auto id_list = [&](const char* name, std::vector<std::string>* out) -> Status {
    if (auto* v = get(name)) {
      *out = split_list(*v);
      if (out->empty()) {
        return make_error(ErrorCode::kInvalidArgument,
                          std::string(name) + " names no id, got \"" + *v +
                              "\" (leave it unset or empty for the default)");
      }
    }
    return {};
  };
  if (Status s = id_list("CANDIDATE_SUBNET_IDS", &config.candidate_subnet_ids); !s.ok()) {
    return s.error();
  }
  if (Status s = id_list("MOUNT_TARGET_SECURITY_GROUP_IDS", &config.security_group_ids); !s.ok()) {
    return s.error();
  }
  if (auto* v = get("MAX_MOUNT_TARGETS")) {
    auto n = parse_int("MAX_MOUNT_TARGETS", *v);
    if (!n.ok()) return n.error();
    config.max_mount_targets = *n;
  }
  if (auto* v = get("MAX_CREATES_PER_RUN")) {
    auto n = parse_int("MAX_CREATES_PER_RUN", *v);
    if (!n.ok()) return n.error();
    config.max_creates_per_run = *n;
  }
  if (auto* v = get("DRY_RUN")) {
    auto b = parse_bool("DRY_RUN", *v);
    if (!b.ok()) return b.error();
    config.dry_run = *b;
  }
  if (const auto it = env.find("SCAN_CACHE_PATH"); it != env.end()) {
    config.scan_cache_path = trim(it->second);
  }
  if (auto* v = get("SCAN_THREADS")) {
    auto n = parse_scan_threads(*v);
    if (!n.ok()) return n.error();
    config.scan_threads = *n;
  }
  if (auto* v = get("LOG_LEVEL")) {
    if (!parse_log_level(trim(*v), &config.log_level)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "LOG_LEVEL must be debug, info, warn or error, got \"" + *v + "\"");
    }
  }
  return config;
}

Result<int> parse_scan_threads(const std::string& text) {
  auto n = parse_uint("SCAN_THREADS", text);
  if (!n.ok() || *n < 1 || *n > 1024) {
    return make_error(ErrorCode::kInvalidArgument,
                      "SCAN_THREADS must be a whole number from 1 to 1024, got \"" + text + "\"");
  }
  return static_cast<int>(*n);
}

Status validate(const MonitorConfig& config) {
  auto bad = [](std::string message) { return make_error(ErrorCode::kInvalidArgument, message); };
  if (config.file_system_id.empty()) {
    return bad("EFS_FILE_SYSTEM_ID (--file-system-id) is required");
  }
  if (!id_shaped(config.file_system_id, "fs-")) {
    return bad("EFS_FILE_SYSTEM_ID must look like fs-0123456789abcdef0, got \"" +
               config.file_system_id + "\"");
  }
  if (config.file_count_threshold < 1) return bad("FILE_COUNT_THRESHOLD must be at least 1");
  if (config.ssm_parameter_name.empty()) return bad("SSM_PARAMETER_NAME must not be empty");
  if (config.max_mount_targets < 1) return bad("MAX_MOUNT_TARGETS must be at least 1");
  if (config.max_creates_per_run < 1) return bad("MAX_CREATES_PER_RUN must be at least 1");
  if (config.scan_threads < 1 || config.scan_threads > 1024) {
    return bad("SCAN_THREADS must be between 1 and 1024");
  }
  if (config.mount_path.empty()) return bad("EFS_MOUNT_PATH must not be empty");
  if (config.ecs_cluster_name.empty() != config.ecs_service_name.empty()) {
    return bad("ECS_CLUSTER_NAME and ECS_SERVICE_NAME must be set together");
  }
  for (const auto& id : config.candidate_subnet_ids) {
    if (!id_shaped(id, "subnet-")) {
      return bad("CANDIDATE_SUBNET_IDS: \"" + id + "\" is not a subnet id (subnet-...)");
    }
  }
  for (const auto& id : config.security_group_ids) {
    if (!id_shaped(id, "sg-")) {
      return bad("MOUNT_TARGET_SECURITY_GROUP_IDS: \"" + id + "\" is not a security group id");
    }
  }
  return {};
}

}  // namespace efsas::monitor
