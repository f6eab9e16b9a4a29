// Small helpers shared by the service calls: query strings, JSON field reads, JSON bodies.
// Private to efsas_aws.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "efsas/aws/sigv4.h"
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

inline Result<nlohmann::json> parse_json(const std::string& body, std::string_view operation) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return make_error(ErrorCode::kDataLoss,
                      std::string(operation) + " returned a body that is not a JSON object");
  }
  return json;
}

}  // namespace efsas::aws::detail
