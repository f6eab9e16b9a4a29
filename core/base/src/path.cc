// Normalisation of client-supplied relative paths. The whole input is checked byte by byte before
// any segment is interpreted, and ".." is resolved on a stack of segments, so that no accepted
// path can name anything outside the root, however it is spelled.
#include "efsas/path.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace efsas {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

bool is_continuation(unsigned char byte) { return (byte & 0xc0) == 0x80; }

Status check_bytes(std::string_view path) {
  for (std::size_t pos = 0; pos < path.size();) {
    const auto byte = static_cast<unsigned char>(path[pos]);
    if (byte >= 0x20 && byte < 0x7f) {  // printable ASCII, the common case
      ++pos;
      continue;
    }
    if (byte == 0) return invalid("path contains a NUL byte at offset " + std::to_string(pos));
    if (byte < 0x20 || byte == 0x7f) {
      return invalid("path contains a control character at offset " + std::to_string(pos));
    }
    const std::size_t length = utf8_sequence_length(path, pos);
    if (length == 0) return invalid("path is not valid UTF-8 at offset " + std::to_string(pos));
    pos += length;
  }
  return {};
}

Result<std::string> normalize(std::string_view path, bool allow_root) {
  if (path.size() > kMaxPathBytes) {
    return invalid("path is " + std::to_string(path.size()) + " bytes, over the limit of " +
                   std::to_string(kMaxPathBytes));
  }
  if (path.empty()) {
    if (allow_root) return std::string();
    return invalid("path is empty");
  }
  if (path.front() == '/')
    return invalid("path is absolute; a path relative to the root is needed");
  if (Status s = check_bytes(path); !s) return s.error();
  // A directory may be named with one trailing slash ("docs/"); a file may not.
  if (allow_root && path.back() == '/') path.remove_suffix(1);

  // Reused by each thread's calls: no allocation per path once it has grown.
  thread_local std::vector<std::string_view> segments;
  segments.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (segment.empty()) return invalid("path has an empty segment (\"//\" or a trailing \"/\")");
    if (segment.size() > kMaxSegmentBytes) {
      return invalid("path segment is " + std::to_string(segment.size()) +
                     " bytes, over the limit of " + std::to_string(kMaxSegmentBytes));
    }
    if (segment.starts_with(kReservedPrefix)) {
      return invalid("path segment starts with \"" + std::string(kReservedPrefix) +
                     "\", a prefix reserved for the service's own files");
    }
    if (segment == "..") {
      if (segments.empty()) return invalid("path uses \"..\" to leave the root");
      segments.pop_back();
    } else if (segment != ".") {
      segments.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }

  if (segments.empty() && !allow_root) return invalid("path names the root, not a file");
  std::string out;
  out.reserve(path.size());
  for (std::string_view segment : segments) {
    if (!out.empty()) out += '/';
    out += segment;
  }
  return out;
}

}  // namespace

Result<std::string> normalize_path(std::string_view path) { return normalize(path, false); }

Result<std::string> normalize_dir_path(std::string_view path) { return normalize(path, true); }

std::size_t utf8_sequence_length(std::string_view text, std::size_t pos) {
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = at(pos);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) second_min = 0xa0;  // below: overlong
    if (lead == 0xed) second_max = 0x9f;  // above: surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) second_min = 0x90;  // below: overlong
    if (lead == 0xf4) second_max = 0x8f;  // above: beyond U+10FFFF
  } else {
    return 0;  // a continuation byte, an overlong lead (0xc0, 0xc1) or 0xf5..0xff
  }
  if (pos + length > text.size()) return 0;
  if (at(pos + 1) < second_min || at(pos + 1) > second_max) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (!is_continuation(at(pos + i))) return 0;
  }
  return length;
}

}  // namespace efsas
