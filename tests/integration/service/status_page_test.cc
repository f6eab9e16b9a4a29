// The status page in a real browser: headless Chromium loads `/` from the real file-service
// binary, runs the page's script against /targets, and the rendered DOM must show the three mount
// targets with their AZs as up; after one target's storage goes away and its health probes fail,
// a fresh load shows that target as down.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"

namespace efsas::service::testing {
namespace {

namespace fs = std::filesystem;
using efsas::testing::read_file;
using efsas::testing::TempDir;
using efsas::testing::write_file;

std::optional<fs::path> find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const fs::path candidate = fs::path(dir) / name;
      if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return std::nullopt;
}

std::string shell_quote(const std::string& arg) {
  std::string out = "'";
  for (const char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// The DOM after the page's script has run (Chromium's virtual time lets its polls happen).
std::string dump_dom(const fs::path& chromium, const std::string& url) {
  TempDir profile;
  const fs::path out = profile.path() / "dom.html";
  const std::vector<std::string> args = {chromium.string(),
                                         "--headless",
                                         "--no-sandbox",
                                         "--disable-gpu",
                                         "--disable-quic",
                                         "--no-first-run",
                                         "--disable-background-networking",
                                         "--disable-component-update",
                                         "--disable-sync",
                                         "--user-data-dir=" + (profile.path() / "profile").string(),
                                         "--virtual-time-budget=5000",
                                         "--dump-dom",
                                         url};
  std::string command;
  for (const auto& arg : args) command += shell_quote(arg) + " ";
  command +=
      "> " + shell_quote(out.string()) + " 2>" + shell_quote((profile.path() / "err").string());
  const auto result =
      efsas::testing::run_command({"sh", "-c", command}, {}, std::chrono::seconds(120));
  EXPECT_EQ(result.status, 0) << "chromium failed:\n" << read_file(profile.path() / "err");
  return read_file(out);
}

// The table row of one mount target: its opening tag's attributes and its text.
struct Row {
  std::string tag;
  std::string text;
};
std::optional<Row> row_of(const std::string& dom, const std::string& id) {
  const auto at = dom.find("data-target=\"" + id + "\"");
  if (at == std::string::npos) return std::nullopt;
  const auto start = dom.rfind("<tr", at);
  const auto tag_end = dom.find('>', at);
  const auto end = dom.find("</tr>", at);
  if (start == std::string::npos || tag_end == std::string::npos || end == std::string::npos) {
    return std::nullopt;
  }
  return Row{dom.substr(start, tag_end - start), dom.substr(tag_end, end - tag_end)};
}

TEST(StatusPage, ShowsTargetsInChromiumAndATargetGoingDown) {
  const auto chromium = find_chromium();
  ASSERT_TRUE(chromium.has_value())
      << "chromium is not installed (no chromium or chromium-browser in PATH); run "
         "scripts/install-deps.sh, which installs Debian's chromium package";

  auto storage = make_directory_storage();
  TempDir config;
  const fs::path list_file = config.path() / "mount-targets.json";
  write_file(list_file, storage->list_document(1));
  ServiceProcess service(*storage, list_file,
                         {{"HEALTH_FAILURES_TO_DOWN", "2"}, {"HEALTH_SUCCESSES_TO_UP", "2"}});
  ASSERT_TRUE(eventually([&] { return http("GET", service.url("/readyz")).status == 200; }))
      << service.log();
  const auto doc = nlohmann::json::parse(http("GET", service.url("/targets")).body);
  ASSERT_EQ(doc["mount_targets"].size(), 3u);

  const std::string page_url = service.url("/");
  const std::string before = dump_dom(*chromium, page_url);
  for (const auto& target : doc["mount_targets"]) {
    const std::string id = target["id"];
    const auto row = row_of(before, id);
    ASSERT_TRUE(row.has_value()) << id << " is not on the page:\n" << before;
    EXPECT_NE(row->tag.find("data-health=\"up\""), std::string::npos) << row->tag;
    EXPECT_NE(row->text.find(target["availability_zone"].get<std::string>()), std::string::npos)
        << row->text;
    EXPECT_NE(row->text.find(">UP<"), std::string::npos) << row->text;
  }
  EXPECT_NE(before.find("id=\"generation\">1<"), std::string::npos) << before;

  const std::string down = storage->target_id(1);
  storage->make_unavailable(1);
  ASSERT_TRUE(eventually([&] {
    const auto now = nlohmann::json::parse(http("GET", service.url("/targets")).body);
    for (const auto& t : now["mount_targets"]) {
      if (t["id"] == down) return !t["healthy"].get<bool>();
    }
    return false;
  })) << service.log();

  const std::string after = dump_dom(*chromium, page_url);
  for (const auto& target : doc["mount_targets"]) {
    const std::string id = target["id"];
    const auto row = row_of(after, id);
    ASSERT_TRUE(row.has_value()) << id << " is not on the page:\n" << after;
    const bool expect_up = id != down;
    EXPECT_NE(row->tag.find(expect_up ? "data-health=\"up\"" : "data-health=\"down\""),
              std::string::npos)
        << id << ": " << row->tag;
    EXPECT_NE(row->text.find(expect_up ? ">UP<" : ">DOWN<"), std::string::npos) << row->text;
  }
}

}  // namespace
}  // namespace efsas::service::testing
