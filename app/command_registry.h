// Subcommands register themselves here, one file per command family in app/commands/,
// so that adding a command never edits a shared file.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace hybrid::app {

// Adds a subcommand (with its own options and callback) to the top-level app. The callback
// must set the exit code through `set_exit_code` (the code main() returns).
using CommandInstaller = std::function<void(CLI::App& root)>;

struct CommandRegistration {
  CommandRegistration(std::string name, int order, CommandInstaller install);
};

void set_exit_code(int code);
int exit_code();

// Installs every registered command, ordered by `order` then name (for --help).
void install_commands(CLI::App& root);

}  // namespace hybrid::app
