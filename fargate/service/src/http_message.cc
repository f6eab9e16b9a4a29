// Pure HTTP helpers: percent-decoding, query strings, ranges, entity tags and dates.
#include "efsas/service/http_message.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>

namespace efsas::service {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

SpooledBody::~SpooledBody() { ::close(fd_); }

std::shared_ptr<const std::string> Request::no_body() {
  static const auto empty = std::make_shared<const std::string>();
  return empty;
}

void Response::set_header(std::string name, std::string value) {
  if (headers.capacity() == 0) headers.reserve(8);  // a file response has six or seven
  for (auto& [n, v] : headers) {
    if (iequals(n, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

const std::string* Response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return &v;
  }
  return nullptr;
}

Response json_error(int status, std::string_view code, std::string_view message) {
  Response response;
  response.status = status;
  nlohmann::json body = {{"error", {{"status", status}, {"code", code}, {"message", message}}}};
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  response.set_header("Content-Type", "application/json");
  if (status == 503) response.set_header("Retry-After", "1");
  return response;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) {
      return make_error(ErrorCode::kInvalidArgument, "malformed percent-escape in the URL");
    }
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) {
      return make_error(ErrorCode::kInvalidArgument, "malformed percent-escape in the URL");
    }
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string percent_encode_path(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key_text(pair.substr(0, eq));
    std::string value_text(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    std::replace(key_text.begin(), key_text.end(), '+', ' ');
    std::replace(value_text.begin(), value_text.end(), '+', ' ');
    auto key = percent_decode(key_text);
    if (!key.ok()) return key.error();
    auto value = percent_decode(value_text);
    if (!value.ok()) return value.error();
    out[*key] = *value;
  }
  return out;
}

RangeResult parse_range(std::string_view header, std::uint64_t size) {
  header = trim(header);
  constexpr std::string_view kPrefix = "bytes=";
  if (header.size() < kPrefix.size() || !iequals(header.substr(0, kPrefix.size()), kPrefix)) {
    return {};
  }
  const auto spec = trim(header.substr(kPrefix.size()));
  if (spec.find(',') != std::string_view::npos) return {};
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const auto first_text = trim(spec.substr(0, dash));
  const auto last_text = trim(spec.substr(dash + 1));
  if (first_text.empty()) {  // suffix: the last N bytes
    const auto n = parse_u64(last_text);
    if (!n) return {};
    if (*n == 0) return {RangeOutcome::kUnsatisfiable, {}};
    // RFC 9110 calls a suffix of an empty file satisfiable, and no Content-Range can name a part
    // of nothing: the whole (empty) file is sent with 200, as the RFC allows for any Range.
    if (size == 0) return {};
    const std::uint64_t count = std::min(*n, size);
    return {RangeOutcome::kSatisfiable, {size - count, size - 1}};
  }
  const auto first = parse_u64(first_text);
  if (!first) return {};
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    const auto parsed = parse_u64(last_text);
    if (!parsed || *parsed < *first) return {};
    last = std::min(*parsed, last);
  }
  if (*first >= size) return {RangeOutcome::kUnsatisfiable, {}};
  return {RangeOutcome::kSatisfiable, {*first, last}};
}

bool etag_list_matches(std::string_view header, std::string_view etag, bool weak_ok) {
  header = trim(header);
  if (header == "*") return true;
  auto opaque = [](std::string_view tag) { return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag; };
  while (!header.empty()) {
    const auto comma = header.find(',');
    const auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (item.empty()) continue;
    const bool weak = item.substr(0, 2) == "W/";
    if (weak && !weak_ok) continue;
    if (opaque(item) == opaque(etag)) return true;
  }
  return false;
}

std::optional<SystemTime> parse_http_date(std::string_view text, SystemTime now) {
  const std::string s(trim(text));
  const auto parse = [&](const char* format, std::tm* tm) {
    const char* end = ::strptime(s.c_str(), format, tm);
    return end != nullptr && *end == '\0';
  };
  std::tm tm{};
  if (!parse("%a, %d %b %Y %H:%M:%S GMT", &tm) && !parse("%a %b %d %H:%M:%S %Y", &tm)) {
    // RFC 850, with a two-digit year: read in this century, or in the one before when that
    // puts it more than 50 years in the future (RFC 9110 5.6.7).
    tm = std::tm{};
    if (!parse("%A, %d-%b-%y %H:%M:%S GMT", &tm)) return std::nullopt;
    const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
    std::tm today{};
    ::gmtime_r(&now_t, &today);
    tm.tm_year = (today.tm_year + 1900) / 100 * 100 + tm.tm_year % 100 - 1900;
    std::tm fifty_years_on = today;
    fifty_years_on.tm_year += 50;
    std::tm candidate = tm;
    if (::timegm(&candidate) > ::timegm(&fifty_years_on)) tm.tm_year -= 100;
  }
  const std::time_t t = ::timegm(&tm);
  if (t == -1) return std::nullopt;
  return system_time_at(t);
}

std::string_view origin_form(std::string_view target) {
  const auto scheme_end = target.find("://");
  if (scheme_end == std::string_view::npos || target.empty() || target.front() == '/') {
    return target;
  }
  const std::string_view scheme = target.substr(0, scheme_end);
  const auto is = [&](std::string_view name) {
    return std::equal(scheme.begin(), scheme.end(), name.begin(), name.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    });
  };
  if (!is("http") && !is("https")) return target;
  const std::string_view rest = target.substr(scheme_end + 3);
  const auto path = rest.find_first_of("/?");
  // "http://host" and "http://host?x" name the root.
  if (path == std::string_view::npos || rest[path] == '?') return "/";
  return rest.substr(path);
}

}  // namespace efsas::service
