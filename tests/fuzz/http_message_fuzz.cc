// The pieces of an HTTP request file-service interprets itself, fed any bytes: percent-escapes,
// query strings, Range, entity-tag lists and HTTP dates. Each gives a value or a clear refusal,
// and what it gives is consistent: a satisfiable range lies inside the file, percent-encoding
// round-trips, a parsed date formats and parses back to the same time.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "efsas/clock.h"
#include "efsas/service/http_message.h"
#include "fuzz_check.h"

using efsas::service::RangeOutcome;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto decoded = efsas::service::percent_decode(text);
  if (decoded.ok()) {
    const std::string encoded = efsas::service::percent_encode_path(*decoded);
    const auto back = efsas::service::percent_decode(encoded);
    FUZZ_CHECK(back.ok() && *back == *decoded, "percent-encoding round-trips");
  }
  (void)efsas::service::parse_query(text);

  // A file size from the first 8 bytes (small sizes often, so that edges get hit), the header
  // from the rest.
  std::uint64_t file_size = 0;
  std::string_view header = text;
  if (size >= 8) {
    std::memcpy(&file_size, data, 8);
    if ((file_size & 1) != 0) file_size = (file_size >> 1) % 1024;
    header = text.substr(8);
  }
  const auto range = efsas::service::parse_range(header, file_size);
  if (range.outcome == RangeOutcome::kSatisfiable) {
    FUZZ_CHECK(range.range.first <= range.range.last, "a range is not empty");
    FUZZ_CHECK(range.range.last < file_size, "a range ends inside the file");
  } else if (range.outcome == RangeOutcome::kUnsatisfiable) {
    FUZZ_CHECK(header.find('-') != std::string_view::npos, "only a bytes range is unsatisfiable");
  }

  const auto comma = text.find('\n');
  if (comma != std::string_view::npos) {
    const auto etag = text.substr(comma + 1);
    const bool strong = efsas::service::etag_list_matches(text.substr(0, comma), etag, false);
    const bool weak = efsas::service::etag_list_matches(text.substr(0, comma), etag, true);
    FUZZ_CHECK(!strong || weak, "a strong match is also a weak match");
  }

  if (const auto date = efsas::service::parse_http_date(text)) {
    const std::string formatted = efsas::format_http_date(*date);
    const auto again = efsas::service::parse_http_date(formatted);
    FUZZ_CHECK(again && *again == *date, "a parsed date formats and parses back");
  }
  return 0;
}
