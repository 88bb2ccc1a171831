#include "app/command_registry.h"

#include <algorithm>

namespace hybrid::app {
namespace {

struct Entry {
  std::string name;
  int order;
  CommandInstaller install;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> r;
  return r;
}

int g_exit_code = 0;

}  // namespace

CommandRegistration::CommandRegistration(std::string name, int order, CommandInstaller install) {
  registry().push_back(Entry{std::move(name), order, std::move(install)});
}

void set_exit_code(int code) { g_exit_code = code; }
int exit_code() { return g_exit_code; }

void install_commands(CLI::App& root) {
  auto entries = registry();
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
  for (auto& e : entries) e.install(root);
}

}  // namespace hybrid::app
