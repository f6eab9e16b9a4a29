// Every case of the aws-c-auth SigV4 suite (../shared/testdata/aws-sigv4-test-suite), header and
// query signing, checking each step: canonical request, string to sign, signature, signed request.
#include "sigv4_suite.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "efsas/aws/sigv4.h"
#include "efsas/testing/process.h"

namespace efsas::aws {
namespace {

namespace fs = std::filesystem;
using testing_support::load_case;
using testing_support::SuiteCase;

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  const fs::path root = testing_support::suite_dir();
  if (!fs::is_directory(root)) return names;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory() && fs::exists(entry.path() / "request.txt")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The request as the suite prints it: request line, headers in order, blank line, body.
std::string serialize(const HttpRequest& request) {
  std::string out = request.method + " " + request.path;
  if (!request.query.empty()) out += "?" + request.query;
  out += " HTTP/1.1\n";
  for (const auto& header : request.headers) out += header.name + ":" + header.value + "\n";
  out += "\n" + request.body;
  return out;
}

TEST(SigV4Suite, FolderHoldsTheWholeSuite) {
  EXPECT_GE(case_names().size(), 35u) << "suite folder: " << testing_support::suite_dir();
}

class SigV4SuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SigV4SuiteTest, HeaderSigning) {
  const SuiteCase c = load_case(GetParam());
  HttpRequest request = c.request;
  const sigv4::Signed result = sigv4::sign_request(request, c.credentials, c.params);
  EXPECT_EQ(result.canonical_request, c.expected("header-canonical-request.txt"));
  EXPECT_EQ(result.string_to_sign, c.expected("header-string-to-sign.txt"));
  EXPECT_EQ(result.signature, c.expected("header-signature.txt"));
  EXPECT_EQ(serialize(request), c.expected("header-signed-request.txt"));
}

TEST_P(SigV4SuiteTest, QuerySigning) {
  const SuiteCase c = load_case(GetParam());
  HttpRequest request = c.request;
  const sigv4::Signed result = sigv4::presign_request(request, c.credentials, c.params);
  EXPECT_EQ(result.canonical_request, c.expected("query-canonical-request.txt"));
  EXPECT_EQ(result.string_to_sign, c.expected("query-string-to-sign.txt"));
  EXPECT_EQ(result.signature, c.expected("query-signature.txt"));
  EXPECT_EQ(serialize(request), c.expected("query-signed-request.txt"));
}

TEST_P(SigV4SuiteTest, SigningKeyAndSignatureStepsAgree) {
  const SuiteCase c = load_case(GetParam());
  const std::string key = sigv4::signing_key(c.credentials.secret_access_key, c.params.time,
                                             c.params.region, c.params.service);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(sigv4::signature(key, c.expected("header-string-to-sign.txt")),
            c.expected("header-signature.txt"));
}

INSTANTIATE_TEST_SUITE_P(AllCases, SigV4SuiteTest, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SigV4SuiteTest);

}  // namespace
}  // namespace efsas::aws
