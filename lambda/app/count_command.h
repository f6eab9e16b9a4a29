// `file-monitor count DIR`: counts the files under a directory and prints the figures.
#pragma once

#include <CLI/CLI.hpp>

namespace efsas::app {

// Registers the subcommand. Exit codes: 0 complete, 1 the directory cannot be counted (bad path,
// bad option), 3 stopped by --timeout before the end (the figures printed are a lower bound).
void add_count_command(CLI::App& app);

}  // namespace efsas::app
