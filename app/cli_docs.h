// Man pages and shell completions generated from the CLI11 App tree itself, so that they
// list exactly the options `--help` lists and cannot drift from it. Pure functions over a
// parsed-for-nothing App (no I/O); `hybrid help-man` / `hybrid help-completion` write them.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace hybrid::app {

struct ManPage {
  std::string file_name;  // "hybrid-tunnel-serve.1"
  std::string roff;
};

// One page for the root ("hybrid.1") and one for every visible subcommand at any depth,
// named by its path ("hybrid-phones-list.1"). `version` goes in the footer.
std::vector<ManPage> man_pages(const CLI::App& root, const std::string& version);

// A bash completion script (complete -F) and a zsh completion function (#compdef hybrid)
// that complete subcommands by path and each command's long options.
std::string bash_completion(const CLI::App& root);
std::string zsh_completion(const CLI::App& root);

}  // namespace hybrid::app
