// INI parsing of ~/.aws/credentials and ~/.aws/config, the way the SDKs read them.
#include "profile_file.h"

#include <fstream>
#include <sstream>

namespace efsas::aws::detail {
namespace {

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::filesystem::path home_path(const Environment& env, const std::string& relative) {
  const auto home = env_value(env, "HOME");
  return std::filesystem::path(home.value_or(".")) / relative;
}

}  // namespace

ProfileSections parse_profile_file(const std::string& content, bool is_config_file) {
  ProfileSections sections;
  std::istringstream in(content);
  std::string line;
  std::string current;
  bool in_section = false;
  while (std::getline(in, line)) {
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    if (text.front() == '[' && text.back() == ']') {
      std::string name = trim(text.substr(1, text.size() - 2));
      if (is_config_file && name.starts_with("profile ")) name = trim(name.substr(8));
      current = name;
      in_section = true;
      sections[current];
      continue;
    }
    const auto eq = text.find('=');
    if (!in_section || eq == std::string::npos) continue;
    sections[current][trim(text.substr(0, eq))] = trim(text.substr(eq + 1));
  }
  return sections;
}

ProfileSections read_profile_file(const std::filesystem::path& path, bool is_config_file) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream content;
  content << in.rdbuf();
  return parse_profile_file(content.str(), is_config_file);
}

std::string profile_name(const Environment& env) {
  return env_value(env, "AWS_PROFILE").value_or("default");
}

std::filesystem::path credentials_file_path(const Environment& env) {
  if (auto path = env_value(env, "AWS_SHARED_CREDENTIALS_FILE")) return *path;
  return home_path(env, ".aws/credentials");
}

std::filesystem::path config_file_path(const Environment& env) {
  if (auto path = env_value(env, "AWS_CONFIG_FILE")) return *path;
  return home_path(env, ".aws/config");
}

}  // namespace efsas::aws::detail
