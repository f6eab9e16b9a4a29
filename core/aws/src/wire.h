// Small helpers shared by the service calls: query strings, JSON field reads, JSON bodies.
// Private to efsas_aws.
#pragma once

#include <chrono>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "efsas/aws/sigv4.h"
#include "efsas/clock.h"
#include "efsas/result.h"

namespace efsas::aws::detail {

// Appends "key=value" (percent-encoded) to a query string or form body.
inline void append_param(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += '&';
  out += sigv4::uri_encode(key, true);
  out += '=';
  out += sigv4::uri_encode(value, true);
}

inline std::string str(const nlohmann::json& json, const char* key) {
  return json.is_object() && json.contains(key) && json[key].is_string()
             ? json[key].get<std::string>()
             : std::string();
}

template <typename Int>
Int num(const nlohmann::json& json, const char* key) {
  return json.is_object() && json.contains(key) && json[key].is_number() ? json[key].get<Int>()
                                                                         : Int{0};
}

// A JSON 1.1 timestamp: seconds since the epoch, with a fraction. nullopt when absent or not a
// finite number in range.
inline std::optional<SystemTime> epoch_time(const nlohmann::json& json, const char* key) {
  if (!json.is_object() || !json.contains(key) || !json[key].is_number()) return std::nullopt;
  const double seconds = json[key].get<double>();
  if (!(seconds >= 0 && seconds < 1e11)) return std::nullopt;
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::duration<double>(seconds)));
}

// An answer without what the service always sends did not come from that service (a wrong
// endpoint, a proxy's page), and must not be read as "there is none": a kDataLoss error.
inline Error missing_member(std::string_view operation, std::string_view what) {
  return make_error(ErrorCode::kDataLoss, std::string(operation) + " answered without " +
                                              std::string(what) +
                                              ", which the service always sends (is the "
                                              "endpoint right?)");
}

// Which kind of JSON value a member must be: &nlohmann::json::is_array, ::is_string, ...
using JsonKind = bool (nlohmann::json::*)() const noexcept;

// The member `key` of `json` when it is of the kind the service always gives it.
inline Result<const nlohmann::json*> member(const nlohmann::json& json, const char* key,
                                            JsonKind kind, std::string_view operation) {
  if (!json.is_object() || !json.contains(key) || !(json[key].*kind)()) {
    return missing_member(
        operation,
        std::string(kind == &nlohmann::json::is_array ? "the list " : "the field ") + key);
  }
  return &json[key];
}

// Checks that each of `keys` is a non-empty string in `item`.
inline Status require_strings(const nlohmann::json& item, std::initializer_list<const char*> keys,
                              std::string_view operation) {
  for (const char* key : keys) {
    if (str(item, key).empty()) return missing_member(operation, std::string("the field ") + key);
  }
  return {};
}

inline Result<nlohmann::json> parse_json(const std::string& body, std::string_view operation) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return make_error(ErrorCode::kDataLoss,
                      std::string(operation) + " returned a body that is not a JSON object");
  }
  return json;
}

}  // namespace efsas::aws::detail
