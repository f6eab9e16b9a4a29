// The mount-target list document: what file-service accepts, what it refuses and why.
#include "efsas/mount_target_list.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace efsas {
namespace {

using nlohmann::json;

MountTarget target(std::string id, std::string az, std::string az_id, std::string ip) {
  return MountTarget{std::move(id), std::move(az), std::move(az_id), "subnet-0123456789abcdef0",
                     std::move(ip), "available"};
}

MountTargetList sample() {
  MountTargetList list;
  list.file_system_id = "fs-0123456789abcdef0";
  list.generation = 7;
  list.updated_at = "2026-11-25T19:30:00.000Z";
  list.mount_targets = {
      target("fsmt-0000000000000000b", "ap-northeast-1c", "apne1-az1", "10.0.2.10"),
      target("fsmt-0000000000000000a", "ap-northeast-1a", "apne1-az4", "10.0.1.10"),
  };
  return list;
}

std::string sample_text() { return *serialize_mount_target_list(sample()); }

// The error message of parsing `text`, or "" when it parses.
std::string parse_error(const std::string& text) {
  auto parsed = parse_mount_target_list(text);
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(parsed.error().retryable);
  return parsed.error().message;
}

std::string with(const std::function<void(json&)>& change) {
  json doc = json::parse(sample_text());
  change(doc);
  return doc.dump();
}

TEST(MountTargetListTest, SerialisesCompactlyInSchemaOrderWithTargetsSortedById) {
  EXPECT_EQ(sample_text(),
            R"({"schema_version":1,"file_system_id":"fs-0123456789abcdef0","generation":7,)"
            R"("updated_at":"2026-11-25T19:30:00.000Z","mount_targets":[)"
            R"({"id":"fsmt-0000000000000000a","availability_zone":"ap-northeast-1a",)"
            R"("availability_zone_id":"apne1-az4","subnet_id":"subnet-0123456789abcdef0",)"
            R"("ip_address":"10.0.1.10","state":"available"},)"
            R"({"id":"fsmt-0000000000000000b","availability_zone":"ap-northeast-1c",)"
            R"("availability_zone_id":"apne1-az1","subnet_id":"subnet-0123456789abcdef0",)"
            R"("ip_address":"10.0.2.10","state":"available"}]})");
}

TEST(MountTargetListTest, RoundTripsAndReturnsTargetsSortedById) {
  auto parsed = parse_mount_target_list(sample_text());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_EQ(parsed->mount_targets[0].id, "fsmt-0000000000000000a");
  EXPECT_EQ(parsed->mount_targets[1].id, "fsmt-0000000000000000b");
  EXPECT_TRUE(same_content(*parsed, sample()));
  EXPECT_EQ(parsed->generation, 7u);
  EXPECT_EQ(*serialize_mount_target_list(*parsed), sample_text());
}

TEST(MountTargetListTest, AcceptsWhitespaceFieldOrderAndAnEmptyList) {
  const std::string text = R"({ "mount_targets": [], "updated_at": "2026-01-01T00:00:00Z",
      "generation": 18446744073709551615, "file_system_id": "fs-abcdef01", "schema_version": 1 })";
  auto parsed = parse_mount_target_list(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_TRUE(parsed->mount_targets.empty());
  EXPECT_EQ(parsed->generation, 18446744073709551615u);
  EXPECT_EQ(parsed->file_system_id, "fs-abcdef01");
}

TEST(MountTargetListTest, RejectsMalformedJson) {
  EXPECT_NE(parse_error("{").find("malformed JSON"), std::string::npos);
  EXPECT_NE(parse_error(sample_text() + "x").find("malformed JSON"), std::string::npos);
  EXPECT_NE(parse_error("").find("malformed JSON"), std::string::npos);
  EXPECT_NE(parse_error("[1]").find("must be a JSON object"), std::string::npos);
}

TEST(MountTargetListTest, RejectsAKeyRepeatedInOneObject) {
  std::string text = sample_text();
  text.insert(1, R"("generation":9,)");
  EXPECT_NE(parse_error(text).find("\"generation\" appears twice"), std::string::npos);
}

TEST(MountTargetListTest, RejectsDocumentsOverTheSsmLimit) {
  std::string text = sample_text();
  text.append(MountTargetList::kMaxDocumentBytes - text.size(), ' ');
  EXPECT_EQ(parse_error(text), "");  // exactly at the limit
  text += ' ';
  EXPECT_NE(parse_error(text).find("4097 bytes, over the 4096-byte limit"), std::string::npos);
}

TEST(MountTargetListTest, RejectsAnUnknownSchemaVersion) {
  EXPECT_NE(parse_error(with([](json& d) {
              d["schema_version"] = 2;
            })).find("schema_version: unknown version 2"),
            std::string::npos);
  EXPECT_NE(parse_error(with([](json& d) {
              d["schema_version"] = "1";
            })).find("schema_version: expected an integer, got a string"),
            std::string::npos);
  EXPECT_NE(parse_error(with([](json& d) {
              d.erase("schema_version");
            })).find("missing field \"schema_version\""),
            std::string::npos);
}

TEST(MountTargetListTest, RejectsMissingMistypedAndUnknownFields) {
  EXPECT_EQ(parse_error(with([](json& d) { d.erase("updated_at"); })),
            "missing field \"updated_at\"");
  EXPECT_EQ(parse_error(with([](json& d) { d["extra"] = true; })), "unknown field \"extra\"");
  EXPECT_EQ(parse_error(with([](json& d) { d["generation"] = -1; })),
            "generation: expected a non-negative integer, got a negative integer");
  EXPECT_EQ(parse_error(with([](json& d) { d["generation"] = 1.5; })),
            "generation: expected a non-negative integer, got a fractional number");
  EXPECT_EQ(parse_error(with([](json& d) { d["mount_targets"] = json::object(); })),
            "mount_targets: expected an array, got an object");
  EXPECT_EQ(parse_error(with([](json& d) { d["mount_targets"][1].erase("state"); })),
            "mount_targets[1].missing field \"state\"");
  EXPECT_EQ(parse_error(with([](json& d) { d["mount_targets"][0]["ip_address"] = 167772426; })),
            "mount_targets[0].ip_address: expected a string, got a non-negative integer");
  EXPECT_EQ(parse_error(with([](json& d) { d["mount_targets"][0]["owner"] = "x"; })),
            "mount_targets[0].unknown field \"owner\"");
  EXPECT_EQ(parse_error(with([](json& d) { d["mount_targets"][0] = "fsmt-0123abcd"; })),
            "mount_targets[0]: expected an object, got a string");
}

TEST(MountTargetListTest, RejectsDuplicateMountTargetIds) {
  std::string message =
      parse_error(with([](json& d) { d["mount_targets"][1]["id"] = d["mount_targets"][0]["id"]; }));
  EXPECT_EQ(message, "mount_targets[1].id: duplicate mount target id \"fsmt-0000000000000000a\"");
}

struct FieldCase {
  const char* pointer;  // JSON pointer into the sample document
  const char* value;
  const char* expected_message_start;
};

class MalformedFieldTest : public ::testing::TestWithParam<FieldCase> {};

TEST_P(MalformedFieldTest, IsRejectedWithTheFieldNamed) {
  const FieldCase& c = GetParam();
  const std::string message =
      parse_error(with([&](json& d) { d[json::json_pointer(c.pointer)] = c.value; }));
  EXPECT_EQ(message.rfind(c.expected_message_start, 0), 0u) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Fields, MalformedFieldTest,
    ::testing::Values(
        FieldCase{"/file_system_id", "fs-0123", "file_system_id: \"fs-0123\" is not"},
        FieldCase{"/file_system_id", "fs-0123456789ABCDEF0", "file_system_id:"},
        FieldCase{"/file_system_id", "fsmt-0123456789abcdef0", "file_system_id:"},
        FieldCase{"/updated_at", "2026-11-25 19:30:00Z", "updated_at:"},
        FieldCase{"/updated_at", "2026-13-25T19:30:00Z", "updated_at:"},
        FieldCase{"/updated_at", "2026-11-25T19:30:00+09:00", "updated_at:"},
        FieldCase{"/updated_at", "", "updated_at:"},
        FieldCase{"/mount_targets/0/id", "fsmt-0123456", "mount_targets[0].id:"},
        FieldCase{"/mount_targets/0/id", "fs-0123456789abcdef0", "mount_targets[0].id:"},
        FieldCase{"/mount_targets/0/id",
                  "fsmt-0123456789abcdef0123456789abcdef012345678",  // 41 hex digits
                  "mount_targets[0].id:"},
        FieldCase{"/mount_targets/1/subnet_id", "subnet-xyz01234", "mount_targets[1].subnet_id:"},
        FieldCase{"/mount_targets/0/availability_zone", "AP-NORTHEAST-1A",
                  "mount_targets[0].availability_zone:"},
        FieldCase{"/mount_targets/0/availability_zone", "", "mount_targets[0].availability_zone:"},
        FieldCase{"/mount_targets/0/availability_zone_id", "apne1",
                  "mount_targets[0].availability_zone_id:"},
        FieldCase{"/mount_targets/0/ip_address", "10.0.1.256", "mount_targets[0].ip_address:"},
        FieldCase{"/mount_targets/0/ip_address", "10.0.1", "mount_targets[0].ip_address:"},
        FieldCase{"/mount_targets/0/ip_address", "10.0.01.1", "mount_targets[0].ip_address:"},
        FieldCase{"/mount_targets/0/ip_address", "10.0.1.1.", "mount_targets[0].ip_address:"},
        FieldCase{"/mount_targets/0/ip_address", "fd00::1", "mount_targets[0].ip_address:"},
        FieldCase{"/mount_targets/0/state", "", "mount_targets[0].state: \"\" is not"},
        FieldCase{"/mount_targets/0/state", "Available", "mount_targets[0].state:"}));

TEST(MountTargetListTest, AcceptsRealisticZoneNamesAndAddresses) {
  MountTargetList list = sample();
  list.mount_targets = {
      target("fsmt-01234567", "us-west-2-lax-1a", "usw2-lax1-az1", "0.0.0.0"),
      target("fsmt-89abcdef", "us-gov-west-1a", "usgw1-az1", "255.255.255.255"),
  };
  list.updated_at = "2026-11-25T19:30:00Z";
  EXPECT_TRUE(validate(list).ok()) << validate(list).error().to_string();
}

TEST(MountTargetListTest, SerialiseRefusesWhatCouldNotBePublished) {
  MountTargetList list = sample();
  list.mount_targets[0].ip_address = "not an address";
  auto text = serialize_mount_target_list(list);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidArgument);

  // Too many targets for one SSM standard parameter.
  MountTargetList big = sample();
  big.mount_targets.clear();
  for (int i = 0; i < 40; ++i) {
    big.mount_targets.push_back(target("fsmt-" + std::to_string(10000000 + i), "ap-northeast-1a",
                                       "apne1-az4", "10.0.0." + std::to_string(i)));
  }
  EXPECT_FALSE(validate(big).ok());
  auto big_text = serialize_mount_target_list(big);
  ASSERT_FALSE(big_text.ok());
  EXPECT_NE(big_text.error().message.find("over the 4096-byte limit"), std::string::npos);
}

TEST(MountTargetListTest, SameContentIgnoresOrderGenerationAndTime) {
  MountTargetList a = sample();
  MountTargetList b = sample();
  std::swap(b.mount_targets[0], b.mount_targets[1]);
  b.generation = 99;
  b.updated_at = "2027-01-01T00:00:00Z";
  EXPECT_TRUE(same_content(a, b));
  b.mount_targets[0].state = "deleting";
  EXPECT_FALSE(same_content(a, b));
  MountTargetList c = sample();
  c.mount_targets.pop_back();
  EXPECT_FALSE(same_content(a, c));
  MountTargetList d = sample();
  d.file_system_id = "fs-99999999";
  EXPECT_FALSE(same_content(a, d));
}

}  // namespace
}  // namespace efsas
