#include "bridge/phone_backend.h"

#include <algorithm>

namespace hybrid::bridge {
namespace {

std::vector<RegisteredPhoneBackend>& registry() {
  static std::vector<RegisteredPhoneBackend> r;
  return r;
}

}  // namespace

PhoneBackendRegistration::PhoneBackendRegistration(std::string name, std::string description,
                                                   PhoneBackendFactory factory) {
  registry().push_back({std::move(name), std::move(description), std::move(factory)});
}

std::vector<RegisteredPhoneBackend> registered_phone_backends() {
  auto all = registry();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return all;
}

const RegisteredPhoneBackend* find_phone_backend(const std::string& name) {
  for (const auto& b : registry()) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

}  // namespace hybrid::bridge
