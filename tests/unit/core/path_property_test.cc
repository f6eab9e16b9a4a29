// Properties of path normalisation: no accepted path resolves outside the root, normalisation is
// idempotent, and it agrees with an independent model of resolution.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "efsas/path.h"
#include "property_support.h"

namespace efsas {
namespace {

// Each case takes microseconds; many cases make the rare deep escapes likely to appear.
constexpr int kCases = 3000;

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash - start));
    if (slash == std::string::npos) return segments;
    start = slash + 1;
  }
}

// Paths built from the pieces that matter for escapes: "..", ".", empty segments, a leading slash,
// the reserved prefix, multi-byte names and ordinary names.
std::string gen_path() {
  const auto pieces =
      *rc::gen::container<std::vector<std::string>>(rc::gen::weightedElement<std::string>({
          {6, ".."},
          {2, "."},
          {1, ""},
          {1, ".efsas-tmp"},
          {4, "a"},
          {4, "b"},
          {4, "dir"},
          {2, "..x"},
          {2, "..."},
          {2, "資料"},
          {2, "x y"},
      }));
  std::string path = *rc::gen::weightedElement<std::string>({{19, ""}, {1, "/"}});
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) path += '/';
    path += pieces[i];
  }
  return path;
}

// Resolves `path` the way a file system walking down from the root would, stopping where it would
// step above the root. Returns the segments, or nothing when the path escapes or is not one the
// service accepts (absolute, empty segment, reserved name).
std::optional<std::vector<std::string>> model_resolve(const std::string& path) {
  if (path.empty() || path.front() == '/') return std::nullopt;
  std::vector<std::string> stack;
  for (const std::string& segment : split(path)) {
    if (segment.empty() || segment.starts_with(kReservedPrefix)) return std::nullopt;
    if (segment == "..") {
      if (stack.empty()) return std::nullopt;  // would step above the root
      stack.pop_back();
    } else if (segment != ".") {
      stack.push_back(segment);
    }
  }
  if (stack.empty()) return std::nullopt;  // names the root, not a file
  return stack;
}

// True when no ".." in the normalised path could lead out of its first directory.
bool stays_inside(const std::string& normalized) {
  if (normalized.empty() || normalized.front() == '/') return false;
  for (const std::string& segment : split(normalized)) {
    if (segment.empty() || segment == "." || segment == "..") return false;
  }
  return true;
}

TEST(PathProperty, AgreesWithAModelOfResolutionFromTheRoot) {
  testing::check_property(kCases, [] {
    const std::string path = gen_path();
    const auto result = normalize_path(path);
    const auto model = model_resolve(path);
    RC_ASSERT(result.ok() == model.has_value());
    RC_CLASSIFY(result.ok(), "accepted");
    if (!result.ok()) return;
    std::string joined;
    for (const std::string& segment : *model) joined += (joined.empty() ? "" : "/") + segment;
    RC_ASSERT(*result == joined);
  });
}

TEST(PathProperty, AcceptedPathsNeverResolveOutsideTheRoot) {
  testing::check_property(kCases, [] {
    const std::string path = gen_path();
    const auto result = normalize_path(path);
    if (!result.ok()) return;
    RC_ASSERT(stays_inside(*result));
    // The operating system's own lexical resolution, below a root directory, agrees.
    const std::filesystem::path root = "/srv/root";
    std::filesystem::path resolved = (root / path).lexically_normal();
    if (resolved.filename().empty()) resolved = resolved.parent_path();  // "a/." ends in a slash
    RC_ASSERT(resolved == root / *result);
    RC_ASSERT(!resolved.lexically_relative(root).empty());
    RC_ASSERT(*resolved.lexically_relative(root).begin() != "..");
  });
}

TEST(PathProperty, NormalisingTwiceChangesNothing) {
  testing::check_property(kCases, [] {
    const std::string path = gen_path();
    const auto once = normalize_path(path);
    if (!once.ok()) return;
    const auto twice = normalize_path(*once);
    RC_ASSERT(twice.ok());
    RC_ASSERT(*twice == *once);
    const auto as_dir = normalize_dir_path(path);
    RC_ASSERT(as_dir.ok());
    RC_ASSERT(*as_dir == *once);
  });
}

TEST(PathProperty, ArbitraryBytesAreRefusedOrSafe) {
  testing::check_property(kCases, [] {
    const auto path = *rc::gen::arbitrary<std::string>();
    for (const auto& result : {normalize_path(path), normalize_dir_path(path)}) {
      if (!result.ok()) {
        RC_ASSERT(result.error().code == ErrorCode::kInvalidArgument);
        continue;
      }
      if (!result->empty()) RC_ASSERT(stays_inside(*result));
      for (char c : *result) {
        const auto byte = static_cast<unsigned char>(c);
        RC_ASSERT(byte >= 0x20);
        RC_ASSERT(byte != 0x7f);
      }
      RC_ASSERT(result->size() <= kMaxPathBytes);
      const auto again = normalize_dir_path(*result);
      RC_ASSERT(again.ok());
      RC_ASSERT(*again == *result);
    }
  });
}

TEST(PathProperty, AnyControlCharacterMakesAnAcceptedPathRefused) {
  testing::check_property(kCases, [] {
    const auto pieces = *rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(
        rc::gen::element<std::string>(".", "a", "dir", "..x", "資料", "x y")));
    std::string path = pieces[0] == "." ? "a" : pieces[0];
    for (std::size_t i = 1; i < pieces.size(); ++i) path += "/" + pieces[i];
    RC_ASSERT(normalize_path(path).ok());
    const auto control = *rc::gen::oneOf(rc::gen::inRange<int>(0, 0x20), rc::gen::just(0x7f));
    const auto at = *rc::gen::inRange<std::size_t>(0, path.size() + 1);
    std::string corrupted = path;
    corrupted.insert(at, 1, static_cast<char>(control));
    RC_ASSERT(!normalize_path(corrupted).ok());
    RC_ASSERT(!normalize_dir_path(corrupted).ok());
  });
}

}  // namespace
}  // namespace efsas
