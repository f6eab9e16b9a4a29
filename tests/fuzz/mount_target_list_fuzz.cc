// The mount-target document as read from SSM by file-service and file-monitor: any bytes give a
// list or a clear error, never a crash, and a list that parses is valid and survives a round
// trip through the serializer unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "efsas/mount_target_list.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = efsas::parse_mount_target_list(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.error().message.empty(), "a refused document says why");
    return 0;
  }
  FUZZ_CHECK(efsas::validate(*parsed).ok(), "a parsed document is valid");
  const auto serialized = efsas::serialize_mount_target_list(*parsed);
  FUZZ_CHECK(serialized.ok(), "a parsed document can be published again");
  FUZZ_CHECK(serialized->size() <= efsas::MountTargetList::kMaxDocumentBytes,
             "what is published fits in a parameter");
  const auto again = efsas::parse_mount_target_list(*serialized);
  FUZZ_CHECK(again.ok(), "what is published parses");
  FUZZ_CHECK(*again == *parsed, "a round trip changes nothing");
  FUZZ_CHECK(efsas::same_content(*again, *parsed), "same_content agrees with ==");
  return 0;
}
