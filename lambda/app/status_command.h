// `file-monitor status`: the file system, its mount targets, the published document and what a
// run would do now. Changes nothing.
#pragma once

#include <CLI/CLI.hpp>

namespace efsas::app {

// Exit codes: 0 shown, 1 configuration or AWS failure.
void add_status_command(CLI::App& app);

}  // namespace efsas::app
