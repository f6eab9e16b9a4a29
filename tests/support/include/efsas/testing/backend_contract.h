// Cases of the storage back-end contract (efsas/service/backend.h) that every back end keeps,
// shared by the back ends' own test executables (which link efsas::service). Each case takes
// the back end and `data`, where the back end's file system can be inspected directly, and works
// under data / dir.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "efsas/path.h"
#include "efsas/service/backend.h"
#include "efsas/service/directory_backend.h"
#include "efsas/testing/process.h"

namespace efsas::testing {

// How many files and directories under `dir` carry the reserved prefix (temporary files): all
// but the directory back end's lock files, which stay.
inline std::size_t count_reserved(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(kReservedPrefix) && !service::is_name_lock_file(name)) ++n;
  }
  return n;
}

// A body that hands out `first` bytes, then fails like a client that went away mid-upload.
class FailingBody final : public service::BodySource {
 public:
  explicit FailingBody(std::size_t first) : first_(first) {}
  Result<std::size_t> read(std::span<char> buffer) override {
    if (calls_++ == 0) {
      std::fill(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(first_), 'x');
      return first_;
    }
    return make_error(ErrorCode::kTimeout, "client went away");
  }

 private:
  std::size_t first_;
  int calls_ = 0;
};

// A sweep cutoff that files changed before the call are older than, and files changed after it
// are newer than. File times come from the kernel's coarse clock, a tick behind the clock the
// service reads, so the cutoff is taken between two pauses of a few ticks.
inline SystemTime changes_after_this_settle() {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const SystemTime cutoff = std::chrono::system_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return cutoff;
}

// Temporary files whose last change (ctime) is before the cutoff go; newer ones, and other files,
// stay.
inline void expect_sweep_removes_only_old_temp_files(service::Backend& backend,
                                                     const std::filesystem::path& data,
                                                     const std::string& dir) {
  namespace fs = std::filesystem;
  const auto old_temp = data / dir / "a" / (std::string(kReservedPrefix) + "old.tmp");
  const auto new_temp = data / dir / (std::string(kReservedPrefix) + "new.tmp");
  fs::create_directories(old_temp.parent_path());
  write_file(old_temp, "partial");
  write_file(data / dir / "a" / "real", "keep");
  const SystemTime cutoff = changes_after_this_settle();
  write_file(new_temp, "in progress");
  // An upload in progress may show any mtime (an NFS exclusive create keeps its verifier there
  // until the first write); its change time is what tells it from one left behind.
  fs::last_write_time(new_temp, fs::file_time_type::clock::now() - std::chrono::hours(2));
  auto removed = backend.sweep_temp_files(dir, cutoff, 1000);
  ASSERT_TRUE(removed.ok()) << removed.error().to_string();
  EXPECT_EQ(*removed, 1u);
  EXPECT_FALSE(fs::exists(old_temp));
  EXPECT_TRUE(fs::exists(new_temp));
  EXPECT_TRUE(fs::exists(data / dir / "a" / "real"));
  fs::remove(new_temp);
}

// A listing names regular files and directories only (a symbolic link or a fifo is never
// served, so it is not listed either); listing a file is a conflict, a missing name not found.
inline void expect_listing_shows_only_files_and_directories(service::Backend& backend,
                                                            const std::filesystem::path& data,
                                                            const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(data / dir / "sub");
  write_file(data / dir / "file", "x");
  fs::create_symlink("file", data / dir / "link");
  fs::create_directory_symlink("sub", data / dir / "sublink");
  ASSERT_EQ(::mkfifo((data / dir / "pipe").c_str(), 0600), 0);
  auto page = backend.list(dir, 100, "");
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  std::vector<std::string> names;
  for (const auto& e : page->entries) names.push_back(e.name + (e.is_directory ? "/" : ""));
  EXPECT_EQ(names, (std::vector<std::string>{"file", "sub/"}));
  auto of_file = backend.list(dir + "/file", 100, "");
  ASSERT_FALSE(of_file.ok());
  EXPECT_EQ(of_file.error().code, ErrorCode::kConflict) << of_file.error().to_string();
  auto missing = backend.list(dir + "/missing", 100, "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound) << missing.error().to_string();
}

// Paging through a directory larger than a page gives every entry once, in order, and a page
// read after a change (a file added, one removed) shows the change, though the listing of a large
// directory is kept between pages. The directory is dated an hour back, so its listing is kept.
inline void expect_pages_show_every_entry_once_and_changes_between_them(
    service::Backend& backend, const std::filesystem::path& data, const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(data / dir / "sub");
  std::vector<std::string> expected{"sub"};
  for (int i = 0; i < 25; ++i) {
    const std::string name = "f" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    write_file(data / dir / name, std::string(static_cast<std::size_t>(i), 'x'));
    expected.push_back(name);
  }
  std::sort(expected.begin(), expected.end());
  fs::last_write_time(data / dir, fs::file_time_type::clock::now() - std::chrono::hours(1));

  const auto page_through = [&](std::size_t limit, const std::function<void(int)>& between) {
    std::vector<std::string> names;
    std::string token;
    for (int page_number = 0; page_number < 100; ++page_number) {
      auto page = backend.list(dir, limit, token);
      EXPECT_TRUE(page.ok()) << page.error().to_string();
      if (!page.ok()) break;
      EXPECT_LE(page->entries.size(), limit);
      for (const auto& e : page->entries) {
        names.push_back(e.name);
        if (e.name.starts_with("f")) {
          EXPECT_EQ(e.size, static_cast<std::uint64_t>(std::stoi(e.name.substr(1, 2)))) << e.name;
        }
      }
      if (page->next_token.empty()) break;
      token = page->next_token;
      between(page_number);
    }
    return names;
  };
  EXPECT_EQ(page_through(7, [](int) {}), expected);
  EXPECT_EQ(page_through(10, [](int) {}), expected);

  // After the first page: a file added after the token, and one removed.
  const auto changed = page_through(10, [&](int page_number) {
    if (page_number != 0) return;
    write_file(data / dir / "f15x", std::string(15, 'y'));
    fs::remove(data / dir / "f20");
  });
  std::vector<std::string> now = expected;
  now.erase(std::find(now.begin(), now.end(), "f20"));
  now.insert(std::upper_bound(now.begin(), now.end(), std::string("f15x")), "f15x");
  EXPECT_EQ(changed, now);
}

// A budget smaller than the tree: each sweep covers part of it, in a random order, so repeated
// sweeps reach the stale temporary files of every subtree, not the same first ones each time.
inline void expect_repeated_sweeps_reach_every_subtree(service::Backend& backend,
                                                       const std::filesystem::path& data,
                                                       const std::string& dir) {
  namespace fs = std::filesystem;
  const auto deepest = [&](int i) { return data / dir / ("d" + std::to_string(i)) / "x"; };
  std::vector<fs::path> stale;
  for (int i = 0; i < 10; ++i) {
    fs::create_directories(deepest(i));
    write_file(deepest(i) / "real-1", "keep");
    write_file(deepest(i) / "real-2", "keep");
    stale.push_back(deepest(i) / (std::string(kReservedPrefix) + "crashed.tmp"));
    write_file(stale.back(), "partial");
  }
  const SystemTime cutoff = changes_after_this_settle();
  const auto left = [&] {
    return std::count_if(stale.begin(), stale.end(),
                         [](const fs::path& p) { return fs::exists(p); });
  };
  // The root's entries and then one to three of the ten subtrees per sweep.
  ASSERT_TRUE(backend.sweep_temp_files(dir, cutoff, 24).ok());
  EXPECT_GE(left(), 6);
  for (int pass = 0; pass < 150 && left() > 0; ++pass) {
    ASSERT_TRUE(backend.sweep_temp_files(dir, cutoff, 24).ok());
  }
  EXPECT_EQ(left(), 0);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(fs::exists(deepest(i) / "real-1"));
  fs::remove_all(data / dir);
}

}  // namespace efsas::testing
