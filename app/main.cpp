// `hybrid`: one binary, many roles (like git). Each command family lives in
// app/commands/<family>.cpp and registers itself with the command registry.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "base/build_info.h"

int main(int argc, char** argv) {
  CLI::App root{
      "hybrid: a cross-device (CTAP 2.2 hybrid / caBLE v2) passkey gateway.\n"
      "Sign in on this machine with the passkey on your phone, run a tunnel server,\n"
      "act as a software phone, or run the demo kiosk.",
      "hybrid"};
  root.require_subcommand(1);
  root.footer(hybrid::app::exit_code_help());
  root.set_version_flag("--version", "hybrid " + std::string(hybrid::build_info::version()) + " (git " +
                                          std::string(hybrid::build_info::git_revision()) + ")");
  hybrid::app::install_commands(root);
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = root.exit(e);  // prints help, version or the error
    // --help and --version exit 0; every other parse error is a bad command line.
    return code == 0 ? 0 : hybrid::app::kUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hybrid: internal error: %s\n", e.what());
    return hybrid::app::kInternalError;
  }
  return hybrid::app::exit_code();
}
