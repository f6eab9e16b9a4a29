// SigV4 signing steps over OpenSSL's SHA-256 and HMAC.
#include "efsas/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>

namespace efsas::aws::sigv4 {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0x0f];
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &size);
  return std::string(reinterpret_cast<const char*>(out.data()), size);
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims the value and turns every run of whitespace (folded lines included) into one space.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (const char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

// RFC 3986 remove_dot_segments plus collapsing of empty segments; keeps a trailing slash.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const auto segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto segment : segments) {
    out += '/';
    out += segment;
  }
  const bool trailing = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
  if (out.empty() || trailing) out += '/';
  return out;
}

std::string amz_date(SystemTime time) { return format_amz_date(time); }

std::string authorization(const Credentials& credentials, std::string_view scope,
                          std::string_view signed_headers, std::string_view sig) {
  std::string out(kAlgorithm);
  out += " Credential=" + credentials.access_key_id + "/" + std::string(scope);
  out += ", SignedHeaders=" + std::string(signed_headers);
  out += ", Signature=" + std::string(sig);
  return out;
}

Signed finish(const HttpRequest& request, const Credentials& credentials,
              const SigningParams& params, std::string_view scope) {
  Signed out;
  out.canonical_request =
      canonical_request(request, params.normalize_path, sha256_hex(request.body));
  out.string_to_sign = string_to_sign(params.time, scope, out.canonical_request);
  out.signature = signature(
      signing_key(credentials.secret_access_key, params.time, params.region, params.service),
      out.string_to_sign);
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return to_hex(digest.data(), digest.size());
}

std::string uri_encode(std::string_view text, bool encode_slash) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 0x0f];
    }
  }
  return out;
}

std::string uri_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string canonical_uri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  return uri_encode(normalize ? normalize_path(path) : std::string(path), false);
}

std::string canonical_query_string(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const auto pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      const auto key = pair.substr(0, eq);
      const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
      params.emplace_back(uri_encode(uri_decode(key), true), uri_encode(uri_decode(value), true));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key + "=" + value;
  }
  return out;
}

CanonicalHeaders canonical_headers(const HttpHeaders& headers) {
  std::vector<std::pair<std::string, std::string>> lowered;
  lowered.reserve(headers.size());
  for (const auto& header : headers) {
    lowered.emplace_back(to_lower(header.name), canonical_header_value(header.value));
  }
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (std::size_t i = 0; i < lowered.size(); ++i) {
    if (i > 0 && lowered[i].first == lowered[i - 1].first) {
      out.canonical.pop_back();  // the newline: repeated headers join with commas
      out.canonical += "," + lowered[i].second + "\n";
      continue;
    }
    if (!out.signed_headers.empty()) out.signed_headers += ';';
    out.signed_headers += lowered[i].first;
    out.canonical += lowered[i].first + ":" + lowered[i].second + "\n";
  }
  return out;
}

std::string canonical_request(const HttpRequest& request, bool normalize_path,
                              std::string_view payload_hash) {
  const CanonicalHeaders headers = canonical_headers(request.headers);
  std::string out;
  out.reserve(256 + headers.canonical.size());
  out += request.method + "\n";
  out += canonical_uri(request.path, normalize_path) + "\n";
  out += canonical_query_string(request.query) + "\n";
  out += headers.canonical + "\n";
  out += headers.signed_headers + "\n";
  out += payload_hash;
  return out;
}

std::string credential_scope(SystemTime time, std::string_view region, std::string_view service) {
  return amz_date(time).substr(0, 8) + "/" + std::string(region) + "/" + std::string(service) +
         "/aws4_request";
}

std::string string_to_sign(SystemTime time, std::string_view scope,
                           std::string_view canonical_request) {
  return std::string(kAlgorithm) + "\n" + amz_date(time) + "\n" + std::string(scope) + "\n" +
         sha256_hex(canonical_request);
}

std::string signing_key(std::string_view secret_access_key, SystemTime time,
                        std::string_view region, std::string_view service) {
  const std::string date_key =
      hmac("AWS4" + std::string(secret_access_key), amz_date(time).substr(0, 8));
  const std::string region_key = hmac(date_key, region);
  const std::string service_key = hmac(region_key, service);
  return hmac(service_key, "aws4_request");
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  const std::string mac = hmac(signing_key, string_to_sign);
  return to_hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

Signed sign_request(HttpRequest& request, const Credentials& credentials,
                    const SigningParams& params) {
  const bool token = !credentials.session_token.empty();
  if (token && !params.omit_session_token) {
    set_header(request.headers, "X-Amz-Security-Token", credentials.session_token);
  }
  set_header(request.headers, "X-Amz-Date", amz_date(params.time));
  if (params.sign_body) {
    set_header(request.headers, "x-amz-content-sha256", sha256_hex(request.body));
  }
  const std::string scope = credential_scope(params.time, params.region, params.service);
  Signed out = finish(request, credentials, params, scope);
  const std::string signed_headers = canonical_headers(request.headers).signed_headers;
  if (token && params.omit_session_token) {
    // Added after signing, where the SDKs put it: before X-Amz-Date.
    const auto date = std::find_if(request.headers.begin(), request.headers.end(),
                                   [](const HttpHeader& h) { return h.name == "X-Amz-Date"; });
    request.headers.insert(date, {"X-Amz-Security-Token", credentials.session_token});
  }
  set_header(request.headers, "Authorization",
             authorization(credentials, scope, signed_headers, out.signature));
  return out;
}

Signed presign_request(HttpRequest& request, const Credentials& credentials,
                       const SigningParams& params) {
  const std::string scope = credential_scope(params.time, params.region, params.service);
  const std::string signed_headers = canonical_headers(request.headers).signed_headers;
  std::string& query = request.query;
  const auto append = [&query](std::string_view key, std::string_view value) {
    if (!query.empty()) query += '&';
    query += std::string(key) + "=" + uri_encode(value, true);
  };
  append("X-Amz-Algorithm", kAlgorithm);
  append("X-Amz-Credential", credentials.access_key_id + "/" + scope);
  append("X-Amz-Date", amz_date(params.time));
  append("X-Amz-SignedHeaders", signed_headers);
  append("X-Amz-Expires", std::to_string(params.expires.count()));
  const bool token = !credentials.session_token.empty();
  if (token && !params.omit_session_token)
    append("X-Amz-Security-Token", credentials.session_token);
  Signed out = finish(request, credentials, params, scope);
  if (token && params.omit_session_token) append("X-Amz-Security-Token", credentials.session_token);
  append("X-Amz-Signature", out.signature);
  return out;
}

}  // namespace efsas::aws::sigv4
