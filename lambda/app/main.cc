// file-monitor's entry point: registers the subcommands and turns their outcome into an exit code.
// Each subcommand lives in its own file (count_command.cc, ...) and is added here with one line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "count_command.h"
#include "lambda_command.h"
#include "run_command.h"
#include "status_command.h"

int main(int argc, char** argv) {
  // As a Lambda `bootstrap` the binary is started without arguments.
  if (argc == 1 && std::getenv("AWS_LAMBDA_RUNTIME_API") != nullptr) {
    return efsas::app::run_lambda();
  }
  CLI::App app{"file-monitor: counts files on EFS and scales its mount targets"};
  app.require_subcommand(1);
  efsas::app::add_count_command(app);
  efsas::app::add_run_command(app);
  efsas::app::add_status_command(app);
  efsas::app::add_lambda_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // Subcommands report their own failures and throw RuntimeError only to set the exit code.
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    // The message, then 1 as for any bad configuration (CLI11's own codes are above 100); 0
    // after --help.
    return app.exit(e) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "file-monitor: %s\n", e.what());
    return 1;
  }
  return 0;
}
