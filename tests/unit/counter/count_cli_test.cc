// `file-monitor count`: the built binary on a real tree, text and JSON output, exit codes.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "efsas/testing/process.h"
#include "tree_helpers.h"

namespace efsas::counter {
namespace {

using efsas::testing::run_command;
using testing::make_dir;
using testing::make_files;

std::string binary() { return (efsas::testing::binary_dir() / "lambda/app/file-monitor").string(); }

class CountCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "tree";
    make_dir(root_);
    make_files(root_, 4);
    make_dir(root_ / "a");
    make_files(root_ / "a", 6);
    make_dir(root_ / "a" / "b");
    testing::make_symlink("..", root_ / "a" / "b" / "loop");
    testing::make_fifo(root_ / "pipe");
    make_dir(root_ / "odd\nname");
  }
  efsas::testing::TempDir dir_;
  std::filesystem::path root_;
};

std::map<std::string, std::string> parse_text(const std::string& output) {
  std::map<std::string, std::string> fields;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    if (space == std::string::npos) continue;
    fields[line.substr(0, space)] = line.substr(line.find_first_not_of(' ', space));
  }
  return fields;
}

TEST_F(CountCliTest, PrintsTheFiguresAsText) {
  const auto r = run_command({binary(), "count", root_.string(), "--threads", "4"});
  ASSERT_EQ(r.status, 0) << r.output;
  const auto fields = parse_text(r.output);
  EXPECT_EQ(fields.at("files"), "10");
  EXPECT_EQ(fields.at("directories"), "3");
  EXPECT_EQ(fields.at("symlinks"), "1");
  EXPECT_EQ(fields.at("other"), "1");
  EXPECT_EQ(fields.at("errors"), "0");
  EXPECT_EQ(fields.at("complete"), "yes");
  EXPECT_GE(std::stod(fields.at("seconds")), 0.0);
  EXPECT_GE(std::stod(fields.at("files/s")), 0.0);
}

TEST_F(CountCliTest, PrintsOneJsonObject) {
  const auto r = run_command({binary(), "count", root_.string(), "--json"});
  ASSERT_EQ(r.status, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.at("files"), 10);
  EXPECT_EQ(j.at("directories"), 3);
  EXPECT_EQ(j.at("symlinks"), 1);
  EXPECT_EQ(j.at("other"), 1);
  EXPECT_EQ(j.at("errors"), 0);
  EXPECT_EQ(j.at("complete"), true);
  EXPECT_TRUE(j.at("seconds").is_number());
  EXPECT_TRUE(j.at("files_per_second").is_number());
  EXPECT_EQ(j.at("directory"), root_.string());
}

// Once its directories are older than the timestamp granularity (2 s), a tree counted with a
// cache is counted again without listing any directory, to the same figures.
TEST_F(CountCliTest, CacheMakesTheSecondRunIncremental) {
  const std::string cache = (dir_.path() / "scan.cache").string();
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const auto first = run_command({binary(), "count", root_.string(), "--json", "--cache", cache});
  ASSERT_EQ(first.status, 0) << first.output;
  const nlohmann::json full = nlohmann::json::parse(first.output);
  EXPECT_EQ(full.at("cache"), "missing");
  EXPECT_EQ(full.at("directories_read"), 4);
  const auto second = run_command({binary(), "count", root_.string(), "--json", "--cache", cache});
  ASSERT_EQ(second.status, 0) << second.output;
  const nlohmann::json j = nlohmann::json::parse(second.output);
  EXPECT_EQ(j.at("cache"), "loaded");
  EXPECT_EQ(j.at("directories_read"), 0) << second.output;
  EXPECT_EQ(j.at("directories_reused"), 4) << second.output;
  for (const char* figure : {"files", "directories", "other", "errors"}) {
    EXPECT_EQ(j.at(figure), full.at(figure)) << figure;
  }
  EXPECT_EQ(j.at("files"), 10);
}

TEST_F(CountCliTest, ACacheThatCannotBeSavedIsReported) {
  const std::string cache = (dir_.path() / "no-such-directory" / "scan.cache").string();
  const auto r = run_command({binary(), "count", root_.string(), "--cache", cache});
  EXPECT_EQ(r.status, 0) << r.output;  // the count itself is complete
  EXPECT_NE(r.output.find("files        10"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("scan cache not saved: cannot create " + cache), std::string::npos)
      << r.output;
}

TEST_F(CountCliTest, BadDirectoryExitsNonZeroWithAMessage) {
  const auto missing = run_command({binary(), "count", (dir_.path() / "absent").string()});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.output.find("no such directory"), std::string::npos) << missing.output;
  const auto file = run_command({binary(), "count", (root_ / "f0").string()});
  EXPECT_EQ(file.status, 1);
  EXPECT_NE(file.output.find("not a directory"), std::string::npos) << file.output;
  // Usage errors exit 1 too, with CLI11's message (not its own codes, above 100).
  const auto no_dir = run_command({binary(), "count"});
  EXPECT_EQ(no_dir.status, 1) << no_dir.output;
  const auto bad_threads = run_command({binary(), "count", root_.string(), "--threads", "0"});
  EXPECT_EQ(bad_threads.status, 1) << bad_threads.output;
  const auto unknown = run_command({binary(), "count", root_.string(), "--no-such-flag"});
  EXPECT_EQ(unknown.status, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("--no-such-flag"), std::string::npos) << unknown.output;
  EXPECT_EQ(run_command({binary(), "count", "--help"}).status, 0);
}

// SCAN_THREADS from the environment is checked as `run` checks it, and named when it is wrong; a
// --threads flag overrides it, and a blank value is no value.
TEST_F(CountCliTest, ScanThreadsFromTheEnvironmentIsCheckedAndNamed) {
  for (const std::string value : {"0", "1025", "3x", "-2"}) {
    const auto r = run_command({binary(), "count", root_.string()}, {{"SCAN_THREADS", value}});
    EXPECT_EQ(r.status, 1) << value << ": " << r.output;
    EXPECT_NE(r.output.find("SCAN_THREADS must be a whole number from 1 to 1024"),
              std::string::npos)
        << value << ": " << r.output;
  }
  const auto from_env =
      run_command({binary(), "count", root_.string(), "--json"}, {{"SCAN_THREADS", "2"}});
  ASSERT_EQ(from_env.status, 0) << from_env.output;
  EXPECT_EQ(nlohmann::json::parse(from_env.output).at("files"), 10);
  const auto flag_wins =
      run_command({binary(), "count", root_.string(), "--threads", "2"}, {{"SCAN_THREADS", "0"}});
  EXPECT_EQ(flag_wins.status, 0) << flag_wins.output;
  // Set but blank is unset, as `run` reads it (Terraform may pass an empty value).
  const auto blank =
      run_command({binary(), "count", root_.string(), "--json"}, {{"SCAN_THREADS", " "}});
  ASSERT_EQ(blank.status, 0) << blank.output;
  EXPECT_EQ(nlohmann::json::parse(blank.output).at("files"), 10);
}

// A timeout is a number of seconds up to a year; one past what the clock can hold is refused
// instead of stopping the count at once (it overflowed into a deadline in the past).
TEST_F(CountCliTest, TimeoutsBeyondAYearAreRefused) {
  for (const std::string value : {"1e12", "inf", "nan", "-1", "soon"}) {
    const auto r = run_command({binary(), "count", root_.string(), "--timeout", value});
    EXPECT_EQ(r.status, 1) << value << ": " << r.output;
    EXPECT_NE(r.output.find("--timeout"), std::string::npos) << value << ": " << r.output;
  }
  const auto r =
      run_command({binary(), "count", root_.string(), "--json", "--timeout", "31536000"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output).at("complete"), true);
  EXPECT_EQ(nlohmann::json::parse(r.output).at("files"), 10);
}

}  // namespace
}  // namespace efsas::counter
