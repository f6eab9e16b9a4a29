// Lambda mode: the binary as the `bootstrap` of a provided.al2023 function. It runs the Runtime
// API loop (AWS_LAMBDA_RUNTIME_API), one reconcile per invocation.
#pragma once

#include <CLI/CLI.hpp>

namespace efsas::app {

// `file-monitor lambda`.
void add_lambda_command(CLI::App& app);

// The loop itself; main() calls it directly when started with no arguments and
// AWS_LAMBDA_RUNTIME_API set. Returns the process exit code (1 after an init error or when the
// Runtime API goes away).
int run_lambda();

}  // namespace efsas::app
