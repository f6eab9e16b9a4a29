// Path safety: what a client may name, how it is normalised, and why the rest is refused.
#include "efsas/path.h"

#include <gtest/gtest.h>

#include <string>

namespace efsas {
namespace {

std::string normalized(std::string_view path) {
  auto result = normalize_path(path);
  EXPECT_TRUE(result.ok()) << "'" << path << "': " << result.error().to_string();
  return result.ok() ? *result : "<error>";
}

// The reason `path` is refused, or "" when it is accepted.
std::string refusal(std::string_view path) {
  auto result = normalize_path(path);
  if (result.ok()) return "";
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  return result.error().message;
}

TEST(PathTest, KeepsPlainRelativePaths) {
  EXPECT_EQ(normalized("a.txt"), "a.txt");
  EXPECT_EQ(normalized("dir/sub/file.bin"), "dir/sub/file.bin");
  EXPECT_EQ(normalized("...hidden/..x/x.."), "...hidden/..x/x..");
  EXPECT_EQ(normalized("back\\slash and space"), "back\\slash and space");
  EXPECT_EQ(normalized(".efsas"), ".efsas");  // only the full prefix is reserved
}

TEST(PathTest, DropsDotAndResolvesDotDotInsideTheRoot) {
  EXPECT_EQ(normalized("./a/./b"), "a/b");
  EXPECT_EQ(normalized("a/b/../c"), "a/c");
  EXPECT_EQ(normalized("a/../b"), "b");
  EXPECT_EQ(normalized("a/b/c/../../d/./e"), "a/d/e");
}

TEST(PathTest, AcceptsWellFormedUtf8) {
  EXPECT_EQ(normalized("資料/報告書.pdf"), "資料/報告書.pdf");
  EXPECT_EQ(normalized("\xc2\x80"), "\xc2\x80");                  // U+0080
  EXPECT_EQ(normalized("\xed\x9f\xbf"), "\xed\x9f\xbf");          // U+D7FF, below surrogates
  EXPECT_EQ(normalized("\xee\x80\x80"), "\xee\x80\x80");          // U+E000, above surrogates
  EXPECT_EQ(normalized("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // U+1F600
  EXPECT_EQ(normalized("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF
}

TEST(PathTest, RefusesEscapesFromTheRoot) {
  EXPECT_NE(refusal("..").find("leave the root"), std::string::npos);
  EXPECT_NE(refusal("../etc/passwd").find("leave the root"), std::string::npos);
  EXPECT_NE(refusal("a/../../b").find("leave the root"), std::string::npos);
  // Re-entering the root after leaving it is still an escape on the way.
  EXPECT_NE(refusal("a/../../root/a").find("leave the root"), std::string::npos);
}

TEST(PathTest, RefusesAbsoluteEmptyAndRootPaths) {
  EXPECT_NE(refusal("/etc/passwd").find("absolute"), std::string::npos);
  EXPECT_NE(refusal("").find("empty"), std::string::npos);
  EXPECT_NE(refusal("a//b").find("empty segment"), std::string::npos);
  EXPECT_NE(refusal("a/").find("empty segment"), std::string::npos);
  EXPECT_NE(refusal(".").find("names the root"), std::string::npos);
  EXPECT_NE(refusal("a/..").find("names the root"), std::string::npos);
}

TEST(PathTest, RefusesNulAndControlCharacters) {
  EXPECT_NE(refusal(std::string("a\0b", 3)).find("NUL"), std::string::npos);
  EXPECT_NE(refusal("a\nb").find("control character at offset 1"), std::string::npos);
  EXPECT_NE(refusal("a\x1f").find("control character"), std::string::npos);
  EXPECT_NE(refusal("a\x7f").find("control character"), std::string::npos);
  EXPECT_NE(refusal("\t").find("control character"), std::string::npos);
}

TEST(PathTest, RefusesInvalidUtf8) {
  const char* bad[] = {
      "\x80",              // stray continuation byte
      "\xc3",              // truncated two-byte sequence
      "\xc3(",             // lead without continuation
      "\xc0\xaf",          // overlong '/'
      "\xc1\xbf",          // overlong
      "\xe0\x80\xaf",      // overlong '/' in three bytes
      "\xe0\x9f\xbf",      // overlong
      "\xed\xa0\x80",      // surrogate U+D800
      "\xed\xbf\xbf",      // surrogate U+DFFF
      "\xf0\x80\x80\xaf",  // overlong '/' in four bytes
      "\xf0\x8f\xbf\xbf",  // overlong
      "\xf4\x90\x80\x80",  // U+110000
      "\xf5\x80\x80\x80",  // lead beyond U+10FFFF
      "\xff",              // never valid
      "\xe6\x97",          // truncated three-byte sequence
  };
  for (const char* path : bad) {
    EXPECT_NE(refusal(path).find("not valid UTF-8"), std::string::npos) << path;
  }
}

TEST(PathTest, EnforcesSegmentAndTotalLengthLimits) {
  const std::string longest(kMaxSegmentBytes, 'x');
  EXPECT_EQ(normalized(longest), longest);
  EXPECT_NE(refusal(longest + "x").find("256 bytes, over the limit of 255"), std::string::npos);

  std::string path;
  while (path.size() + 100 < kMaxPathBytes) path += std::string(99, 'd') + "/";
  path += std::string(kMaxPathBytes - path.size(), 'f');
  ASSERT_EQ(path.size(), kMaxPathBytes);
  EXPECT_EQ(normalized(path), path);
  EXPECT_NE(refusal(path + "f").find("4097 bytes"), std::string::npos);
}

TEST(PathTest, RefusesTheServiceReservedPrefixInAnySegment) {
  EXPECT_NE(refusal(".efsas-tmp-123").find("reserved"), std::string::npos);
  EXPECT_NE(refusal("dir/.efsas-upload").find("reserved"), std::string::npos);
  EXPECT_NE(refusal(".efsas-x/../a").find("reserved"), std::string::npos);
}

TEST(PathTest, DirectoryPathsMayNameTheRootAndEndInOneSlash) {
  EXPECT_EQ(*normalize_dir_path(""), "");
  EXPECT_EQ(*normalize_dir_path("."), "");
  EXPECT_EQ(*normalize_dir_path("a/.."), "");
  EXPECT_EQ(*normalize_dir_path("./"), "");
  EXPECT_EQ(*normalize_dir_path("docs/"), "docs");
  EXPECT_EQ(*normalize_dir_path("docs/./x/"), "docs/x");
  EXPECT_FALSE(normalize_dir_path("/").ok());
  EXPECT_FALSE(normalize_dir_path("docs//").ok());
  EXPECT_FALSE(normalize_dir_path("..").ok());
  EXPECT_FALSE(normalize_dir_path("a/../..").ok());
}

// The same rules, as the length of the sequence at a position (used to display raw file names).
TEST(PathTest, Utf8SequenceLengthAcceptsWellFormedSequencesOnly) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("x\xc3\xa9", 1), 2u);
  EXPECT_EQ(utf8_sequence_length("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x9f\x98\x80", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xc1\xbf", 0), 0u);          // overlong
  EXPECT_EQ(utf8_sequence_length("\xed\xa0\x80", 0), 0u);      // surrogate
  EXPECT_EQ(utf8_sequence_length("\xf4\x90\x80\x80", 0), 0u);  // beyond U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xe6\x97", 0), 0u);          // truncated
  EXPECT_EQ(utf8_sequence_length("\xa9", 0), 0u);              // a lone continuation byte
}

}  // namespace
}  // namespace efsas
