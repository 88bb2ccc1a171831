// The client's linked-phones file (roles/link_store, spec §10.3), as found on disk:
// anything must list or fail with an error value (never an exception, never a crash);
// a file that lists can be used (every record becomes a StoredLink), and forgetting a
// phone and adding one rewrite it into a file that lists again with the expected
// records (abort() = a finding). The file lives in a private directory under /dev/shm.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/p256.h"
#include "fuzz/invariant.h"
#include "roles/link_store.h"

using namespace hybrid;
using namespace hybrid::roles;
using hybrid::fuzz::violated;

namespace {
// Leaked on purpose: the atexit handler that removes the directory runs after static
// destructors registered later, so the names must not be statics with destructors.
const std::string* g_scratch_dir = nullptr;

const std::string& scratch_path() {
  static const std::string* const path = [] {
    std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    g_scratch_dir = new std::string(base + "/hybrid-link-store-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(*g_scratch_dir);
    std::atexit([] { std::filesystem::remove_all(*g_scratch_dir); });
    return new std::string(*g_scratch_dir + "/linked-phones.json");
  }();
  return *path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  LinkStore store(path);
  auto links = store.list();
  if (!links) return 0;
  for (const auto& l : *links) (void)l.to_stored_link();  // throws if a listed key is not usable
  if (!links->empty()) {
    const std::string name = links->front().name;
    size_t same = 0;
    for (const auto& l : *links) same += l.name == name;
    auto forgot = store.forget(name);
    if (!forgot || !*forgot) violated("a listed phone could not be forgotten");
    auto after = store.list();
    if (!after) violated("the file no longer lists after forgetting a phone");
    if (after->size() != links->size() - same) violated("forgetting one name removed another number of phones");
  }
  static const auto phone = crypto::P256KeyPair::generate();
  LinkingInfo info;
  info.contact_id = Bytes(data, data + std::min<size_t>(size, 16));
  info.link_id = Bytes(8, 0x11);
  info.link_secret = SecretBytes(Bytes(32, 0x22));
  info.authenticator_public_key = phone.public_key();
  // Names arrive as CBOR text, which the decoder has already checked to be UTF-8.
  for (size_t i = 0; i < std::min<size_t>(size, 24); ++i) info.name += static_cast<char>('a' + data[i] % 26);
  auto added = store.add(info, 0, "");
  if (!added) violated("adding a phone to a file that lists failed");
  auto found = store.find(*added);
  if (!found || !*found) violated("a phone just added is not found under the name add() returned");
  if ((*found)->contact_id != info.contact_id) violated("the added phone's contact id changed on disk");
  return 0;
}
