// The shared credentials and config files (INI), read by the profile provider and for the
// region. Private to efsas_aws.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "efsas/aws/environment.h"

namespace efsas::aws::detail {

// section name -> key -> value. The config file's "[profile x]" is stored as "x".
using ProfileSections = std::map<std::string, std::map<std::string, std::string>>;

ProfileSections parse_profile_file(const std::string& content, bool is_config_file);
// Empty sections when the file cannot be read.
ProfileSections read_profile_file(const std::filesystem::path& path, bool is_config_file);

std::string profile_name(const Environment& env);
std::filesystem::path credentials_file_path(const Environment& env);
std::filesystem::path config_file_path(const Environment& env);

}  // namespace efsas::aws::detail
