// The process environment as a value. The library never reads the environment itself: the app
// builds this once at its edge (from `environ`) and passes it in, and tests build it by hand.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace efsas::aws {

using Environment = std::map<std::string, std::string, std::less<>>;

// Builds the map from a NULL-terminated "NAME=value" array such as `environ`.
Environment environment_from(const char* const* envp);

// The value when present and non-empty.
std::optional<std::string> env_value(const Environment& env, std::string_view name);
// Whether a switch is on: "true" in any case, as the AWS SDKs read their boolean settings.
bool env_flag(const Environment& env, std::string_view name);

}  // namespace efsas::aws
