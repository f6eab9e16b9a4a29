// JSON log lines: fields a CloudWatch Logs Insights query would filter on.
#include "efsas/log.h"

#include <gtest/gtest.h>

namespace efsas {
namespace {

TEST(LogTest, WritesOneJsonObjectPerLineWithContext) {
  auto sink = std::make_shared<MemorySink>();
  auto clock = std::make_shared<ManualClock>(SystemTime{std::chrono::seconds{1440938160}});
  Logger logger(sink, LogLevel::kInfo, clock, {{"service", "file-monitor"}});
  logger.with({{"request_id", "abc"}}).info("scan done", {{"files", 42}});
  logger.debug("not shown");
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto line = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["message"], "scan done");
  EXPECT_EQ(line["service"], "file-monitor");
  EXPECT_EQ(line["request_id"], "abc");
  EXPECT_EQ(line["files"], 42);
  EXPECT_EQ(line["timestamp"], "2015-08-30T12:36:00.000Z");
}

TEST(LogTest, InvalidUtf8IsReplacedNotThrown) {
  auto sink = std::make_shared<MemorySink>();
  Logger logger(sink, LogLevel::kDebug, std::make_shared<RealClock>());
  logger.warn("odd name", {{"path", std::string("a\xff"
                                                "b")}});
  ASSERT_EQ(sink->lines().size(), 1u);
  const auto line = nlohmann::json::parse(sink->lines()[0]);
  EXPECT_EQ(line["message"], "odd name");
}

TEST(LogTest, ParsesLevelNames) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(parse_log_level("WARNING", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  EXPECT_FALSE(parse_log_level("loud", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
}

}  // namespace
}  // namespace efsas
