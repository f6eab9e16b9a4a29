// Client-supplied file paths: normalize_path either refuses a path with a reason or returns one
// that stays under the root: no leading, trailing or double slash, no "." or ".." segment, no
// reserved name, no control character, valid UTF-8, within the length limits, and normalising
// it again changes nothing. normalize_dir_path agrees with it on every non-root path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "efsas/path.h"
#include "fuzz_check.h"

namespace {

void check_normal(const std::string& path) {
  FUZZ_CHECK(path.size() <= efsas::kMaxPathBytes, "within the path limit");
  FUZZ_CHECK(path.front() != '/' && path.back() != '/', "relative, no trailing slash");
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const std::string_view segment = std::string_view(path).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    FUZZ_CHECK(!segment.empty(), "no empty segment");
    FUZZ_CHECK(segment != "." && segment != "..", "no dot segment");
    FUZZ_CHECK(segment.size() <= efsas::kMaxSegmentBytes, "within the segment limit");
    FUZZ_CHECK(segment.substr(0, efsas::kReservedPrefix.size()) != efsas::kReservedPrefix,
               "no reserved name");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (std::size_t i = 0; i < path.size();) {
    const auto c = static_cast<unsigned char>(path[i]);
    FUZZ_CHECK(c >= 0x20 && c != 0x7f, "no control character");
    const std::size_t n = efsas::utf8_sequence_length(path, i);
    FUZZ_CHECK(n > 0, "valid UTF-8");
    i += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto path = efsas::normalize_path(text);
  const auto dir = efsas::normalize_dir_path(text);
  if (path.ok()) {
    check_normal(*path);
    const auto again = efsas::normalize_path(*path);
    FUZZ_CHECK(again.ok() && *again == *path, "normalising twice changes nothing");
    FUZZ_CHECK(dir.ok() && *dir == *path, "a file path is also a directory path");
  } else {
    FUZZ_CHECK(!path.error().message.empty(), "a refused path says why");
  }
  if (dir.ok() && !dir->empty()) {
    check_normal(*dir);
    const auto as_file = efsas::normalize_path(*dir);
    FUZZ_CHECK(as_file.ok() && *as_file == *dir, "a directory path is a valid file path");
  }
  return 0;
}
