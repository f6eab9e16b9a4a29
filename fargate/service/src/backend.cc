// Shared pieces of the back-end interface.
#include "efsas/service/backend.h"

#include <algorithm>
#include <cstring>

namespace efsas::service {

Result<std::size_t> MemoryBodySource::read(std::span<char> buffer) {
  const std::size_t n = std::min(buffer.size(), data_.size() - position_);
  if (n > 0) std::memcpy(buffer.data(), data_.data() + position_, n);
  position_ += n;
  return n;
}

}  // namespace efsas::service
