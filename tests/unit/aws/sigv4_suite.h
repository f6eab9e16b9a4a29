// Loads one case of the SigV4 test suite: context.json, request.txt and the expected files.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "efsas/aws/sigv4.h"
#include "efsas/testing/process.h"

namespace efsas::aws::testing_support {

// EFSAS_SIGV4_SUITE_DIR, else <source>/../shared/testdata/aws-sigv4-test-suite (a CI clone has
// shared/ beside it, as the work tree does).
inline std::filesystem::path suite_dir() {
  if (const char* dir = std::getenv("EFSAS_SIGV4_SUITE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  std::filesystem::path source = efsas::testing::source_dir();
#ifdef EFSAS_SOURCE_ROOT
  if (std::getenv("EFSAS_SOURCE_DIR") == nullptr) source = EFSAS_SOURCE_ROOT;
#endif
  return source / ".." / "shared" / "testdata" / "aws-sigv4-test-suite";
}

inline SystemTime parse_timestamp(const std::string& text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &year, &month, &day, &hour, &minute,
              &second);
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// request.txt: request line, headers (a line starting with whitespace continues the previous
// header's value), blank line, body.
inline HttpRequest parse_request(const std::string& text) {
  HttpRequest request;
  std::size_t pos = text.find('\n');
  const std::string line = text.substr(0, pos);
  const auto first_space = line.find(' ');
  const auto last_space = line.rfind(' ');
  request.method = line.substr(0, first_space);
  const std::string target = line.substr(first_space + 1, last_space - first_space - 1);
  const auto question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  while (pos != std::string::npos && pos + 1 <= text.size()) {
    const std::size_t start = pos + 1;
    pos = text.find('\n', start);
    const std::string header =
        text.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    if (header.empty()) {
      if (pos != std::string::npos) request.body = text.substr(pos + 1);
      break;
    }
    if ((header[0] == ' ' || header[0] == '\t') && !request.headers.empty()) {
      request.headers.back().value += "\n" + header;
      continue;
    }
    const auto colon = header.find(':');
    request.headers.push_back({header.substr(0, colon), header.substr(colon + 1)});
  }
  request.scheme = "https";
  request.host = find_header(request.headers, "Host").value_or("");
  return request;
}

struct SuiteCase {
  std::filesystem::path dir;
  HttpRequest request;
  Credentials credentials;
  sigv4::SigningParams params;

  std::string expected(const std::string& file) const {
    return efsas::testing::read_file(dir / file);
  }
};

inline SuiteCase load_case(const std::string& name) {
  SuiteCase c;
  c.dir = suite_dir() / name;
  const auto context = nlohmann::json::parse(efsas::testing::read_file(c.dir / "context.json"));
  const auto& creds = context.at("credentials");
  c.credentials.access_key_id = creds.at("access_key_id");
  c.credentials.secret_access_key = creds.at("secret_access_key");
  c.credentials.session_token = creds.value("token", "");
  c.params.region = context.at("region");
  c.params.service = context.at("service");
  c.params.time = parse_timestamp(context.at("timestamp"));
  c.params.normalize_path = context.value("normalize", true);
  c.params.sign_body = context.value("sign_body", false);
  c.params.omit_session_token = context.value("omit_session_token", false);
  c.params.expires = std::chrono::seconds(context.value("expiration_in_seconds", 3600));
  c.request = parse_request(efsas::testing::read_file(c.dir / "request.txt"));
  return c;
}

}  // namespace efsas::aws::testing_support
