// The incremental scan's cache file as file-monitor reads it back from /tmp: any bytes give a
// cache or a kDataLoss error (which means a full scan), never a crash or a huge allocation, and
// a cache that decodes is exactly what encoding it again gives. The first byte chooses whether
// the rest is the whole file, or a body that gets a valid header and checksum around it (random
// bytes rarely pass the checksum, and the body's decoder must hold without it).
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "efsas/counter/scan_cache.h"
#include "fuzz_check.h"

namespace {

std::string with_header(std::string_view body) {
  std::string out = "EFSASCNT";
  auto put = [&out](std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xffU));
  };
  put(efsas::counter::kScanCacheVersion, 4);
  put(0, 4);
  put(body.size(), 8);
  unsigned char sum[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), sum);
  out.append(reinterpret_cast<const char*>(sum), sizeof(sum));
  out.append(body);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string bytes = (data[0] & 1) != 0 ? with_header(rest) : std::string(rest);
  const auto cache = efsas::counter::decode_scan_cache(bytes);
  if (!cache.ok()) {
    FUZZ_CHECK(cache.error().code == efsas::ErrorCode::kDataLoss, "a bad cache is kDataLoss");
    return 0;
  }
  for (const auto& record : cache->records) {
    FUZZ_CHECK(record.counts.directories == record.subdirectories.size(),
               "a record counts the subdirectories it names");
    for (const auto& sub : record.subdirectories) {
      const std::string& name = sub.name;
      FUZZ_CHECK(
          !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos,
          "a subdirectory name is one real entry of its directory");
    }
  }
  FUZZ_CHECK(efsas::counter::encode_scan_cache(*cache) == bytes,
             "decoding accepts only what encoding writes");
  return 0;
}
