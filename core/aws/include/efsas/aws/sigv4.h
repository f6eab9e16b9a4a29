// AWS Signature Version 4, as pure functions named after the steps of the specification
// (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). Time is passed in.
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "efsas/aws/credentials.h"
#include "efsas/aws/http.h"
#include "efsas/clock.h"

namespace efsas::aws::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

struct SigningParams {
  std::string region;
  std::string service;  // signing name, e.g. "elasticfilesystem"
  SystemTime time;
  bool normalize_path = true;          // remove "." and ".." segments and repeated slashes
  bool sign_body = false;              // add x-amz-content-sha256
  bool omit_session_token = false;     // add the token after signing instead of signing it
  std::chrono::seconds expires{3600};  // presigned URLs only
};

// The intermediate results, so tests can check every step.
struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

std::string sha256_hex(std::string_view data);
// Percent-encodes everything but A-Z a-z 0-9 - . _ ~ (and '/' unless encode_slash).
std::string uri_encode(std::string_view text, bool encode_slash);
std::string uri_decode(std::string_view text);

// Step 1 parts.
std::string canonical_uri(std::string_view path, bool normalize);
std::string canonical_query_string(std::string_view query);
struct CanonicalHeaders {
  std::string canonical;       // "name:value\n" lines, sorted by lower-case name
  std::string signed_headers;  // "host;x-amz-date"
};
CanonicalHeaders canonical_headers(const HttpHeaders& headers);
// Step 1: the canonical request of `request` (its query and headers as they are now).
std::string canonical_request(const HttpRequest& request, bool normalize_path,
                              std::string_view payload_hash);
// "20150830/us-east-1/service/aws4_request"
std::string credential_scope(SystemTime time, std::string_view region, std::string_view service);
// Step 2.
std::string string_to_sign(SystemTime time, std::string_view scope,
                           std::string_view canonical_request);
// Step 3: the raw 32-byte key.
std::string signing_key(std::string_view secret_access_key, SystemTime time,
                        std::string_view region, std::string_view service);
// Step 4: hex HMAC of the string to sign.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// Header signing: adds X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256 (if sign_body) and
// Authorization to the request; Host must already be among its headers.
Signed sign_request(HttpRequest& request, const Credentials& credentials,
                    const SigningParams& params);
// Presigned query signing: appends the X-Amz-* parameters and X-Amz-Signature to the query.
Signed presign_request(HttpRequest& request, const Credentials& credentials,
                       const SigningParams& params);

}  // namespace efsas::aws::sigv4
