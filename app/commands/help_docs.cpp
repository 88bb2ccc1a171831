// Hidden commands that write the documentation generated from the command tree itself:
// `hybrid help-man --out-dir DIR` (one man page per command) and
// `hybrid help-completion bash|zsh`. The build runs them (see app/CMakeLists.txt) and the
// packages install what they write.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/cli_docs.h"
#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "base/build_info.h"

namespace hybrid::app {
namespace {

CommandRegistration reg("help-docs", 1000, [](CLI::App& root) {
  CLI::App* top = &root;
  auto out_dir = std::make_shared<std::string>();
  auto* man = root.add_subcommand("help-man", "Write a man page for hybrid and each of its commands.");
  man->group("");  // hidden from --help, the man pages and the completions
  man->add_option("--out-dir", *out_dir, "directory to write the pages into")->required();
  man->callback([top, out_dir] {
    std::error_code ec;
    std::filesystem::create_directories(*out_dir, ec);
    for (const auto& page : man_pages(*top, std::string(build_info::version()))) {
      std::ofstream f(std::filesystem::path(*out_dir) / page.file_name, std::ios::binary | std::ios::trunc);
      f << page.roff;
      if (!f) {
        std::fprintf(stderr, "hybrid help-man: cannot write %s in %s\n", page.file_name.c_str(), out_dir->c_str());
        set_exit_code(kInvalidInput);
        return;
      }
    }
  });

  auto shell = std::make_shared<std::string>();
  auto* comp = root.add_subcommand("help-completion", "Print a shell completion script.");
  comp->group("");
  comp->add_option("SHELL", *shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  comp->callback([top, shell] { std::cout << (*shell == "bash" ? bash_completion(*top) : zsh_completion(*top)); });
});

}  // namespace
}  // namespace hybrid::app
