// NFS_ADDRESS_MAP: the demo's mapping of mount-target addresses to local endpoints.
#include "efsas/nfs/address_map.h"

#include <gtest/gtest.h>

namespace efsas::nfs {
namespace {

TEST(AddressMap, ParsesPairsAndResolves) {
  auto map = parse_address_map(" 10.0.1.25=127.0.0.2, 10.0.2.7 = 127.0.0.3 ,");
  ASSERT_TRUE(map.ok()) << map.error().to_string();
  EXPECT_EQ(map->size(), 2u);
  EXPECT_EQ(resolve_address(*map, "10.0.1.25"), "127.0.0.2");
  EXPECT_EQ(resolve_address(*map, "10.0.2.7"), "127.0.0.3");
  // Unmapped addresses are dialled as they are (the AWS case).
  EXPECT_EQ(resolve_address(*map, "10.0.3.9"), "10.0.3.9");
}

TEST(AddressMap, EmptyTextIsTheEmptyMap) {
  auto map = parse_address_map("");
  ASSERT_TRUE(map.ok());
  EXPECT_TRUE(map->empty());
  EXPECT_EQ(resolve_address(*map, "10.0.0.1"), "10.0.0.1");
}

TEST(AddressMap, RejectsMalformedItemsNamingThem) {
  for (const char* bad : {"10.0.0.1", "10.0.0.1=", "=127.0.0.2", "10.0.0.1=localhost",
                          "10.0.0.256=127.0.0.2", "10.0.0.1=127.0.0.2,10.0.0.1=127.0.0.3"}) {
    auto map = parse_address_map(bad);
    ASSERT_FALSE(map.ok()) << bad;
    EXPECT_EQ(map.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(map.error().message.find("NFS_ADDRESS_MAP"), std::string::npos);
  }
}

}  // namespace
}  // namespace efsas::nfs
