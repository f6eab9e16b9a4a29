// Path safety for client-supplied file paths: normalise, and reject anything that could escape
// the root or that the service reserves. Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "efsas/result.h"

namespace efsas {

// Names starting with this prefix are the service's own temporary files; clients cannot use them.
inline constexpr std::string_view kReservedPrefix = ".efsas-";
// The empty file at the root that the NFS back end's keep-alive opens (nfs::Session::keep_alive);
// no temporary-file sweep removes it.
inline constexpr std::string_view kLeaseProbeName = ".efsas-lease-probe";
inline constexpr std::size_t kMaxSegmentBytes = 255;
inline constexpr std::size_t kMaxPathBytes = 4096;

// Takes an already percent-decoded relative path ("a/b/c.txt"). "." segments are dropped and
// ".." segments resolved; the result is "seg/seg/..." with no leading, trailing or double slash.
// InvalidArgument (with the reason) for: empty path, absolute path, empty segments ("a//b"),
// ".." that would leave the root, NUL or control characters, invalid UTF-8, a segment over
// kMaxSegmentBytes, a path over kMaxPathBytes, or a segment starting with kReservedPrefix.
Result<std::string> normalize_path(std::string_view path);

// Like normalize_path, but a path naming the root ("", ".", "a/..") is allowed and returns "",
// and one trailing slash is accepted ("docs/" is "docs"): for directory listings.
Result<std::string> normalize_dir_path(std::string_view path);

// Length of the well-formed UTF-8 sequence at text[pos] (pos < text.size()), or 0 when it is not
// one. Rejects overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points above U+10FFFF and
// truncated sequences.
std::size_t utf8_sequence_length(std::string_view text, std::size_t pos);

}  // namespace efsas
