// Strict parsing, validation and canonical serialisation of the mount-target list document.
// Every rejection names the field and the fault, because the message ends up in a log that an
// operator reads when file-service refuses a published list.
#include "efsas/mount_target_list.h"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace efsas {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::size_t kMaxHexDigits = 40;
constexpr std::size_t kMinHexDigits = 8;
constexpr std::size_t kMaxNameBytes = 64;

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// A value quoted for an error message, cut short so that a hostile document cannot flood logs.
std::string shown(std::string_view value) {
  constexpr std::size_t kMaxShown = 64;
  std::string out = "\"";
  for (char c : value.substr(0, kMaxShown)) {
    const auto byte = static_cast<unsigned char>(c);
    out += (byte < 0x20 || byte >= 0x7f) ? '?' : c;
  }
  if (value.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }

// "<prefix>" followed by 8 to 40 lowercase hex digits, as AWS resource ids are.
bool is_aws_id(std::string_view value, std::string_view prefix) {
  if (!value.starts_with(prefix)) return false;
  const std::string_view hex = value.substr(prefix.size());
  return hex.size() >= kMinHexDigits && hex.size() <= kMaxHexDigits &&
         std::all_of(hex.begin(), hex.end(), is_lower_hex);
}

// Lowercase alphanumeric words joined by single hyphens ("ap-northeast-1a").
bool is_hyphenated_words(std::string_view value) {
  if (value.empty() || value.size() > kMaxNameBytes) return false;
  if (value.front() == '-' || value.back() == '-') return false;
  char previous = '\0';
  for (char c : value) {
    if (c == '-' && previous == '-') return false;
    if (c != '-' && !is_lower_alnum(c)) return false;
    previous = c;
  }
  return true;
}

// "us-east-1a", "ap-northeast-1a", and local or wavelength zones such as "us-west-2-lax-1a".
bool is_availability_zone(std::string_view value) {
  return is_hyphenated_words(value) && value.size() >= 4 && value[0] >= 'a' && value[0] <= 'z' &&
         value[1] >= 'a' && value[1] <= 'z' && value[2] == '-' &&
         std::any_of(value.begin(), value.end(), is_digit);
}

// "apne1-az4", "use1-az1", "usw2-lax1-az1": words ending in "-az<digits>".
bool is_availability_zone_id(std::string_view value) {
  if (!is_hyphenated_words(value)) return false;
  const std::size_t az = value.rfind("-az");
  if (az == std::string_view::npos || az == 0) return false;
  const std::string_view number = value.substr(az + 3);
  return !number.empty() && std::all_of(number.begin(), number.end(), is_digit);
}

// EFS life-cycle states are lowercase words; unknown future states are kept, not rejected.
bool is_state(std::string_view value) {
  constexpr std::size_t kMaxStateBytes = 32;
  return !value.empty() && value.size() <= kMaxStateBytes &&
         std::all_of(value.begin(), value.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_' || c == '-'; });
}

int digits_value(std::string_view text, std::size_t pos, std::size_t count, bool& ok) {
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (i >= text.size() || !is_digit(text[i])) {
      ok = false;
      return 0;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// "YYYY-MM-DDTHH:MM:SS[.fraction]Z": ISO 8601 in UTC, as the writer's clock formats it.
bool is_utc_timestamp(std::string_view value) {
  constexpr std::size_t kFixedPart = 19;  // "YYYY-MM-DDTHH:MM:SS"
  if (value.size() < kFixedPart + 1 || value.back() != 'Z') return false;
  if (value[4] != '-' || value[7] != '-' || value[10] != 'T' || value[13] != ':' ||
      value[16] != ':') {
    return false;
  }
  bool ok = true;
  digits_value(value, 0, 4, ok);
  const int month = digits_value(value, 5, 2, ok);
  const int day = digits_value(value, 8, 2, ok);
  const int hour = digits_value(value, 11, 2, ok);
  const int minute = digits_value(value, 14, 2, ok);
  const int second = digits_value(value, 17, 2, ok);
  if (!ok || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return false;
  }
  const std::string_view rest = value.substr(kFixedPart, value.size() - kFixedPart - 1);
  if (rest.empty()) return true;
  constexpr std::size_t kMaxFractionDigits = 9;
  const std::string_view fraction = rest.substr(1);
  return rest[0] == '.' && !fraction.empty() && fraction.size() <= kMaxFractionDigits &&
         std::all_of(fraction.begin(), fraction.end(), is_digit);
}

Status check_mount_target(const MountTarget& target, const std::string& where) {
  if (!is_aws_id(target.id, "fsmt-")) {
    return invalid(where + ".id: " + shown(target.id) +
                   " is not a mount target id (fsmt- and 8 to 40 lowercase hex digits)");
  }
  if (!is_availability_zone(target.availability_zone)) {
    return invalid(where + ".availability_zone: " + shown(target.availability_zone) +
                   " is not an availability zone name such as \"ap-northeast-1a\"");
  }
  if (!is_availability_zone_id(target.availability_zone_id)) {
    return invalid(where + ".availability_zone_id: " + shown(target.availability_zone_id) +
                   " is not an availability zone id such as \"apne1-az4\"");
  }
  if (!is_aws_id(target.subnet_id, "subnet-")) {
    return invalid(where + ".subnet_id: " + shown(target.subnet_id) +
                   " is not a subnet id (subnet- and 8 to 40 lowercase hex digits)");
  }
  if (!is_dotted_ipv4(target.ip_address)) {
    return invalid(where + ".ip_address: " + shown(target.ip_address) +
                   " is not a dotted IPv4 address");
  }
  if (!is_state(target.state)) {
    return invalid(where + ".state: " + shown(target.state) +
                   " is not a life-cycle state (lowercase letters, non-empty)");
  }
  return {};
}

// Everything validate() checks except the size, which needs the serialised form.
Status check_fields(const MountTargetList& list) {
  if (!is_aws_id(list.file_system_id, "fs-")) {
    return invalid("file_system_id: " + shown(list.file_system_id) +
                   " is not a file system id (fs- and 8 to 40 lowercase hex digits)");
  }
  if (!is_utc_timestamp(list.updated_at)) {
    return invalid("updated_at: " + shown(list.updated_at) +
                   " is not an ISO 8601 UTC time such as \"2026-11-25T19:30:00.000Z\"");
  }
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < list.mount_targets.size(); ++i) {
    const MountTarget& target = list.mount_targets[i];
    const std::string where = "mount_targets[" + std::to_string(i) + "]";
    if (Status s = check_mount_target(target, where); !s) return s;
    if (!seen.insert(target.id).second) {
      return invalid(where + ".id: duplicate mount target id " + shown(target.id));
    }
  }
  return {};
}

std::vector<MountTarget> sorted_by_id(std::vector<MountTarget> targets) {
  std::sort(targets.begin(), targets.end(),
            [](const MountTarget& a, const MountTarget& b) { return a.id < b.id; });
  return targets;
}

// The canonical text: compact, keys in schema order, mount targets sorted by id.
std::string to_document(const MountTargetList& list) {
  OrderedJson targets = OrderedJson::array();
  for (const MountTarget& t : sorted_by_id(list.mount_targets)) {
    targets.push_back(OrderedJson{{"id", t.id},
                                  {"availability_zone", t.availability_zone},
                                  {"availability_zone_id", t.availability_zone_id},
                                  {"subnet_id", t.subnet_id},
                                  {"ip_address", t.ip_address},
                                  {"state", t.state}});
  }
  OrderedJson doc{{"schema_version", MountTargetList::kSchemaVersion},
                  {"file_system_id", list.file_system_id},
                  {"generation", list.generation},
                  {"updated_at", list.updated_at},
                  {"mount_targets", std::move(targets)}};
  return doc.dump();
}

Status check_size(std::size_t bytes, std::string_view what) {
  if (bytes > MountTargetList::kMaxDocumentBytes) {
    return invalid(std::string(what) + " is " + std::to_string(bytes) + " bytes, over the " +
                   std::to_string(MountTargetList::kMaxDocumentBytes) + "-byte limit of an SSM " +
                   "standard parameter");
  }
  return {};
}

std::string_view type_name(const Json& value) {
  if (value.is_number_unsigned()) return "a non-negative integer";
  if (value.is_number_integer()) return "a negative integer";
  if (value.is_number_float()) return "a fractional number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_null()) return "null";
  if (value.is_array()) return "an array";
  return "an object";
}

// Rejects keys the schema does not define and reports the first missing one.
Status check_keys(const Json& object, const std::vector<std::string_view>& known,
                  const std::string& where) {
  for (const auto& item : object.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      return invalid(where + "unknown field " + shown(item.key()));
    }
  }
  for (std::string_view key : known) {
    if (!object.contains(key)) return invalid(where + "missing field \"" + std::string(key) + "\"");
  }
  return {};
}

Result<std::string> get_string(const Json& object, std::string_view key, const std::string& where) {
  const Json& value = object.at(key);
  if (!value.is_string()) {
    return invalid(where + std::string(key) + ": expected a string, got " +
                   std::string(type_name(value)));
  }
  return value.get<std::string>();
}

Result<MountTarget> parse_mount_target(const Json& value, const std::string& where) {
  if (!value.is_object()) {
    return invalid(where + ": expected an object, got " + std::string(type_name(value)));
  }
  const std::string prefix = where + ".";
  if (Status s = check_keys(
          value,
          {"id", "availability_zone", "availability_zone_id", "subnet_id", "ip_address", "state"},
          prefix);
      !s) {
    return s.error();
  }
  MountTarget target;
  std::pair<std::string_view, std::string*> fields[] = {
      {"id", &target.id},
      {"availability_zone", &target.availability_zone},
      {"availability_zone_id", &target.availability_zone_id},
      {"subnet_id", &target.subnet_id},
      {"ip_address", &target.ip_address},
      {"state", &target.state},
  };
  for (auto& [key, out] : fields) {
    auto text = get_string(value, key, prefix);
    if (!text) return text.error();
    *out = std::move(*text);
  }
  return target;
}

// nlohmann::json keeps the last of two equal keys; a strict reader rejects the document instead.
class DuplicateKeyCheck {
 public:
  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_.empty()) open_.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_.empty() && parsed.is_string() &&
            !open_.back().insert(parsed.get<std::string>()).second && duplicate_.empty()) {
          duplicate_ = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  }
  const std::string& duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string>> open_;
  std::string duplicate_;
};

Result<Json> parse_json(std::string_view text) {
  DuplicateKeyCheck check;
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end(), std::ref(check));
  } catch (const Json::exception& e) {
    return invalid(std::string("malformed JSON: ") + e.what());
  }
  if (!check.duplicate().empty()) {
    return invalid("malformed JSON: the key " + shown(check.duplicate()) +
                   " appears twice in one object");
  }
  return doc;
}

}  // namespace

bool is_dotted_ipv4(std::string_view value) {
  int octets = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = pos;
    while (end < value.size() && is_digit(value[end])) ++end;
    const std::size_t digits = end - pos;
    if (digits == 0 || digits > 3) return false;
    if (digits > 1 && value[pos] == '0') return false;
    int octet = 0;
    for (std::size_t i = pos; i < end; ++i) octet = octet * 10 + (value[i] - '0');
    if (octet > 255) return false;
    ++octets;
    if (end == value.size()) return octets == 4;
    if (value[end] != '.' || octets == 4) return false;
    pos = end + 1;
  }
}

Status validate(const MountTargetList& list) {
  if (Status s = check_fields(list); !s) return s;
  return check_size(to_document(list).size(), "the serialised document");
}

Result<MountTargetList> parse_mount_target_list(std::string_view json) {
  if (Status s = check_size(json.size(), "the document"); !s) return s.error();
  auto parsed = parse_json(json);
  if (!parsed) return parsed.error();
  const Json& doc = *parsed;
  if (!doc.is_object()) {
    return invalid("the document must be a JSON object, got " + std::string(type_name(doc)));
  }
  // The version decides how the rest is read, so it is checked before any other field.
  const auto version = doc.find("schema_version");
  if (version == doc.end()) return invalid("missing field \"schema_version\"");
  if (!version->is_number_integer()) {
    return invalid("schema_version: expected an integer, got " + std::string(type_name(*version)));
  }
  if (version->get<std::int64_t>() != MountTargetList::kSchemaVersion) {
    return invalid("schema_version: unknown version " + version->dump() + " (this reader knows " +
                   std::to_string(MountTargetList::kSchemaVersion) + ")");
  }
  if (Status s = check_keys(
          doc, {"schema_version", "file_system_id", "generation", "updated_at", "mount_targets"},
          "");
      !s) {
    return s.error();
  }
  MountTargetList list;
  auto fs = get_string(doc, "file_system_id", "");
  if (!fs) return fs.error();
  list.file_system_id = std::move(*fs);
  const Json& generation = doc.at("generation");
  if (!generation.is_number_unsigned()) {
    return invalid("generation: expected a non-negative integer, got " +
                   std::string(type_name(generation)));
  }
  list.generation = generation.get<std::uint64_t>();
  auto updated = get_string(doc, "updated_at", "");
  if (!updated) return updated.error();
  list.updated_at = std::move(*updated);
  const Json& targets = doc.at("mount_targets");
  if (!targets.is_array()) {
    return invalid("mount_targets: expected an array, got " + std::string(type_name(targets)));
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto target = parse_mount_target(targets[i], "mount_targets[" + std::to_string(i) + "]");
    if (!target) return target.error();
    list.mount_targets.push_back(std::move(*target));
  }
  if (Status s = check_fields(list); !s) return s.error();
  list.mount_targets = sorted_by_id(std::move(list.mount_targets));
  return list;
}

Result<std::string> serialize_mount_target_list(const MountTargetList& list) {
  if (Status s = check_fields(list); !s) return s.error();
  std::string doc = to_document(list);
  if (Status s = check_size(doc.size(), "the serialised document"); !s) return s.error();
  return doc;
}

bool same_content(const MountTargetList& a, const MountTargetList& b) {
  if (a.file_system_id != b.file_system_id) return false;
  if (a.mount_targets.size() != b.mount_targets.size()) return false;
  const auto key = [](const MountTarget& t) {
    return std::tie(t.id, t.availability_zone, t.availability_zone_id, t.subnet_id, t.ip_address,
                    t.state);
  };
  const auto by_all_fields = [&](const MountTarget& x, const MountTarget& y) {
    return key(x) < key(y);
  };
  std::vector<MountTarget> left = a.mount_targets;
  std::vector<MountTarget> right = b.mount_targets;
  std::sort(left.begin(), left.end(), by_all_fields);
  std::sort(right.begin(), right.end(), by_all_fields);
  return left == right;
}

}  // namespace efsas
