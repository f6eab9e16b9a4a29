// The environment map built at the app's edge.
#include "efsas/aws/environment.h"

namespace efsas::aws {

Environment environment_from(const char* const* envp) {
  Environment env;
  if (envp == nullptr) return env;
  for (const char* const* entry = envp; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

std::optional<std::string> env_value(const Environment& env, std::string_view name) {
  const auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

bool env_flag(const Environment& env, std::string_view name) {
  const auto value = env_value(env, name);
  if (!value || value->size() != 4) return false;
  std::string lower;
  for (char c : *value) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return lower == "true";
}

}  // namespace efsas::aws
