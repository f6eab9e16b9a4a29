// Properties of the mount-target list document: every valid list round-trips through its text,
// and every corruption of a valid document is refused.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "efsas/mount_target_list.h"

namespace efsas {
namespace {

using nlohmann::json;

std::string gen_hex(int min_digits, int max_digits) {
  const auto count = *rc::gen::inRange(min_digits, max_digits + 1);
  return *rc::gen::container<std::string>(static_cast<std::size_t>(count),
                                          rc::gen::elementOf(std::string("0123456789abcdef")));
}

std::string gen_zone_name() {
  std::string zone = *rc::gen::element<std::string>("us", "ap", "eu", "sa", "ca", "me", "af", "il");
  zone += '-';
  zone += *rc::gen::element<std::string>("east", "west", "northeast", "southeast", "central",
                                         "north", "south", "gov-west");
  zone += '-';
  zone += std::to_string(*rc::gen::inRange(1, 10));
  if (*rc::gen::arbitrary<bool>()) {
    zone += '-';
    zone += *rc::gen::element<std::string>("lax", "bos", "tpe", "wl1-nyc-wlz");
    zone += "-1";
  }
  zone += *rc::gen::elementOf(std::string("abcdef"));
  return zone;
}

std::string gen_zone_id() {
  std::string id = *rc::gen::element<std::string>("use", "usw", "apne", "euc", "sae", "usgw");
  id += std::to_string(*rc::gen::inRange(1, 10));
  if (*rc::gen::arbitrary<bool>()) id += "-lax1";
  return id + "-az" + std::to_string(*rc::gen::inRange(1, 13));
}

std::string gen_ipv4() {
  std::string ip;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) ip += '.';
    ip += std::to_string(*rc::gen::inRange(0, 256));
  }
  return ip;
}

std::string gen_timestamp() {
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", *rc::gen::inRange(1970, 10000),
                *rc::gen::inRange(1, 13), *rc::gen::inRange(1, 29), *rc::gen::inRange(0, 24),
                *rc::gen::inRange(0, 60), *rc::gen::inRange(0, 60));
  std::string stamp = text;
  const auto fraction_digits = *rc::gen::inRange(0, 10);
  if (fraction_digits > 0) {
    stamp += '.';
    stamp += *rc::gen::container<std::string>(static_cast<std::size_t>(fraction_digits),
                                              rc::gen::elementOf(std::string("0123456789")));
  }
  return stamp + "Z";
}

MountTarget gen_mount_target() {
  return MountTarget{
      "fsmt-" + gen_hex(8, 40),
      gen_zone_name(),
      gen_zone_id(),
      "subnet-" + gen_hex(8, 40),
      gen_ipv4(),
      *rc::gen::element<std::string>("creating", "available", "updating", "deleting", "deleted",
                                     "error"),
  };
}

// A valid list with its mount targets sorted by id; at most 10 targets keeps it under 4 KB.
MountTargetList gen_list() {
  MountTargetList list;
  list.file_system_id = "fs-" + gen_hex(8, 40);
  list.generation = *rc::gen::arbitrary<std::uint64_t>();
  list.updated_at = gen_timestamp();
  const auto count = *rc::gen::inRange(0, 11);
  std::set<std::string> ids;
  for (int i = 0; i < count; ++i) {
    MountTarget target = gen_mount_target();
    if (ids.insert(target.id).second) list.mount_targets.push_back(std::move(target));
  }
  std::sort(list.mount_targets.begin(), list.mount_targets.end(),
            [](const MountTarget& a, const MountTarget& b) { return a.id < b.id; });
  return list;
}

RC_GTEST_PROP(MountTargetListProperty, EveryValidListRoundTrips, ()) {
  const MountTargetList list = gen_list();
  RC_ASSERT(validate(list).ok());
  const auto text = serialize_mount_target_list(list);
  RC_ASSERT(text.ok());
  RC_ASSERT(text->size() <= MountTargetList::kMaxDocumentBytes);
  const auto parsed = parse_mount_target_list(*text);
  RC_ASSERT(parsed.ok());
  RC_ASSERT(*parsed == list);
  RC_ASSERT(*serialize_mount_target_list(*parsed) == *text);
}

RC_GTEST_PROP(MountTargetListProperty, TargetOrderDoesNotChangeTheDocument, ()) {
  const MountTargetList list = gen_list();
  MountTargetList shuffled = list;
  std::reverse(shuffled.mount_targets.begin(), shuffled.mount_targets.end());
  RC_ASSERT(*serialize_mount_target_list(shuffled) == *serialize_mount_target_list(list));
  RC_ASSERT(same_content(shuffled, list));
}

// same_content is exactly "the documents differ only in generation and updated_at".
RC_GTEST_PROP(MountTargetListProperty, SameContentMatchesTheDocumentsContent, ()) {
  const MountTargetList a = gen_list();
  MountTargetList b = *rc::gen::arbitrary<bool>() ? a : gen_list();
  if (!b.mount_targets.empty() && *rc::gen::arbitrary<bool>()) {
    const auto i = *rc::gen::inRange<std::size_t>(0, b.mount_targets.size());
    b.mount_targets[i].state = *rc::gen::element<std::string>("available", "deleting");
  }
  b.generation = *rc::gen::arbitrary<std::uint64_t>();
  MountTargetList a_as_b = a;
  a_as_b.generation = b.generation;
  a_as_b.updated_at = b.updated_at;
  RC_ASSERT(same_content(a, b) ==
            (*serialize_mount_target_list(a_as_b) == *serialize_mount_target_list(b)));
}

enum class Corruption {
  kDropTopLevelField,
  kDropTargetField,
  kUnknownTopLevelField,
  kUnknownTargetField,
  kOtherSchemaVersion,
  kMistypedTopLevelField,
  kMistypedTargetField,
  kDuplicateTarget,
  kMalformedId,
  kAddressOctetOver255,
  kEmptyState,
  kTruncated,
  kOversized,
  kRepeatedKey,
};

std::string corrupt(const std::string& text, Corruption kind) {
  json doc = json::parse(text);
  json& targets = doc["mount_targets"];
  const bool has_target = !targets.empty();
  const std::size_t index =
      has_target ? *rc::gen::inRange<std::size_t>(0, targets.size()) : std::size_t{0};
  const std::vector<std::string> top = {"schema_version", "file_system_id", "generation",
                                        "updated_at", "mount_targets"};
  const std::vector<std::string> fields = {"id",        "availability_zone", "availability_zone_id",
                                           "subnet_id", "ip_address",        "state"};
  const json wrong_types = json::array({1, -1, 2.5, true, nullptr, json::array(), json::object()});
  switch (kind) {
    case Corruption::kDropTopLevelField:
      doc.erase(*rc::gen::elementOf(top));
      break;
    case Corruption::kDropTargetField:
      RC_PRE(has_target);
      targets[index].erase(*rc::gen::elementOf(fields));
      break;
    case Corruption::kUnknownTopLevelField:
      doc["x_" + gen_hex(1, 8)] = 1;
      break;
    case Corruption::kUnknownTargetField:
      RC_PRE(has_target);
      targets[index]["x_" + gen_hex(1, 8)] = "value";
      break;
    case Corruption::kOtherSchemaVersion: {
      const auto version = *rc::gen::inRange(-5, 100);
      RC_PRE(version != MountTargetList::kSchemaVersion);
      doc["schema_version"] = version;
      break;
    }
    case Corruption::kMistypedTopLevelField: {
      const std::string key = *rc::gen::elementOf(top);
      json value = wrong_types[*rc::gen::inRange<std::size_t>(0, wrong_types.size())];
      // A non-negative integer is a valid generation whether stored signed or unsigned.
      if (key == "generation" && value.is_number_integer() && value.get<std::int64_t>() >= 0) {
        value = "7";
      }
      if (key == "schema_version" && value.is_number_integer()) value = "1";
      if (key == "mount_targets" && value.is_array()) value = "[]";
      doc[key] = value;
      break;
    }
    case Corruption::kMistypedTargetField:
      RC_PRE(has_target);
      targets[index][*rc::gen::elementOf(fields)] =
          wrong_types[*rc::gen::inRange<std::size_t>(0, wrong_types.size())];
      break;
    case Corruption::kDuplicateTarget:
      RC_PRE(has_target);
      targets.push_back(targets[index]);
      targets.back()["ip_address"] = "10.9.9.9";  // same id, otherwise different
      break;
    case Corruption::kMalformedId: {
      std::string& id = targets.empty() || *rc::gen::arbitrary<bool>()
                            ? doc["file_system_id"].get_ref<std::string&>()
                            : targets[index]["id"].get_ref<std::string&>();
      switch (*rc::gen::inRange(0, 4)) {
        case 0:
          id = id.substr(0, id.find('-') + 1 + 7);
          break;  // 7 hex digits
        case 1:
          id += std::string(41, 'a');
          break;  // too many digits
        case 2:
          id.back() = 'G';
          break;  // not lowercase hex
        default:
          id = "x" + id;
          break;  // wrong prefix
      }
      break;
    }
    case Corruption::kAddressOctetOver255: {
      RC_PRE(has_target);
      std::string ip = targets[index]["ip_address"];
      const std::size_t dot = ip.rfind('.');
      targets[index]["ip_address"] =
          ip.substr(0, dot + 1) + std::to_string(*rc::gen::inRange(256, 1000));
      break;
    }
    case Corruption::kEmptyState:
      RC_PRE(has_target);
      targets[index]["state"] = "";
      break;
    case Corruption::kTruncated:
      // Any proper prefix of an object's text lacks its closing brace.
      return text.substr(0, *rc::gen::inRange<std::size_t>(0, text.size()));
    case Corruption::kOversized:
      return text + std::string(MountTargetList::kMaxDocumentBytes + 1 - text.size(), ' ');
    case Corruption::kRepeatedKey: {
      const std::string key = *rc::gen::elementOf(top);
      return "{\"" + key + "\":" + doc[key].dump() + "," + text.substr(1);
    }
  }
  return doc.dump();
}

RC_GTEST_PROP(MountTargetListProperty, EveryCorruptionOfAValidDocumentIsRefused, ()) {
  const std::string text = *serialize_mount_target_list(gen_list());
  const auto kind = *rc::gen::element(
      Corruption::kDropTopLevelField, Corruption::kDropTargetField,
      Corruption::kUnknownTopLevelField, Corruption::kUnknownTargetField,
      Corruption::kOtherSchemaVersion, Corruption::kMistypedTopLevelField,
      Corruption::kMistypedTargetField, Corruption::kDuplicateTarget, Corruption::kMalformedId,
      Corruption::kAddressOctetOver255, Corruption::kEmptyState, Corruption::kTruncated,
      Corruption::kOversized, Corruption::kRepeatedKey);
  const std::string corrupted = corrupt(text, kind);
  RC_TAG(static_cast<int>(kind));
  const auto parsed = parse_mount_target_list(corrupted);
  RC_ASSERT(!parsed.ok());
  RC_ASSERT(parsed.error().code == ErrorCode::kInvalidArgument);
  RC_ASSERT(!parsed.error().message.empty());
}

// Whatever bytes arrive, the parser answers; what it accepts is a valid, canonical list.
RC_GTEST_PROP(MountTargetListProperty, ArbitraryTextIsRefusedOrValid, (const std::string& text)) {
  const std::string candidate =
      *rc::gen::arbitrary<bool>() ? text : *serialize_mount_target_list(gen_list());
  const auto parsed = parse_mount_target_list(candidate);
  if (!parsed.ok()) {
    RC_ASSERT(parsed.error().code == ErrorCode::kInvalidArgument);
    return;
  }
  RC_ASSERT(validate(*parsed).ok());
  RC_ASSERT(*parse_mount_target_list(*serialize_mount_target_list(*parsed)) == *parsed);
}

}  // namespace
}  // namespace efsas
