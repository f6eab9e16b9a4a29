// Test helpers for the counter: building trees with every kind of entry, and a reference count
// made independently of the library (nftw, physical walk).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "efsas/counter/counter.h"

namespace efsas::counter::testing {

struct Reference {
  Counts counts;
  std::uint64_t unreadable_directories = 0;
};

// Walks with nftw(FTW_PHYS): symlinks are never followed; the root is not counted.
Reference reference_count(const std::filesystem::path& root);

void make_dir(const std::filesystem::path& path);
void make_file(const std::filesystem::path& path);
void make_files(const std::filesystem::path& dir, int count, const std::string& prefix = "f");
void make_symlink(const std::string& target, const std::filesystem::path& path);
void make_fifo(const std::filesystem::path& path);
// A unix socket bound at `path` (the socket is closed; the file stays).
void make_socket(const std::filesystem::path& path);

}  // namespace efsas::counter::testing
