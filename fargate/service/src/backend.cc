// Shared pieces of the back-end interface.
#include "efsas/service/backend.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace efsas::service {

namespace {

void append_hex(std::string& out, std::uint64_t value) {
  char digits[16];  // a 64-bit number has at most 16 hex digits
  out.append(digits, std::to_chars(digits, digits + sizeof digits, value, 16).ptr);
}

}  // namespace

std::string make_etag(std::uint64_t inode, std::uint64_t size, SystemTime modified) {
  const auto mtime_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(modified.time_since_epoch()).count());
  std::string out;
  out.reserve(52);
  out += '"';
  append_hex(out, inode);
  out += '-';
  append_hex(out, size);
  out += '-';
  append_hex(out, mtime_ns);
  out += '"';
  return out;
}

Result<std::size_t> MemoryBodySource::read(std::span<char> buffer) {
  const std::size_t n = std::min(buffer.size(), data_.size() - position_);
  if (n > 0) std::memcpy(buffer.data(), data_.data() + position_, n);
  position_ += n;
  return n;
}

}  // namespace efsas::service
