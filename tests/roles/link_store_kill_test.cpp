// The linked-phones store under SIGKILL: a writer adds and forgets phones and is killed at
// random moments (hundreds of times; HYBRID_KILL_ROUNDS=1000 for the count).
// After every kill the file must still list, hold every phone whose add() returned and
// none whose forget() returned (0 lost or corrupted acknowledged records).
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "base/log.h"
#include "crypto/p256.h"
#include "roles/link_store.h"
#include "tests/support/kill_writer.h"
#include "tests/support/scratch_dir.h"

using namespace hybrid;
using namespace hybrid::roles;

namespace {

constexpr uint32_t kForgotten = 0x80000000u;  // ack flag: this record was forgotten
constexpr uint32_t kForgetting = 0x40000000u; // sent before forget(): it may be gone from now on
constexpr size_t kMaxLive = 40;               // keeps the file (and each rewrite) small

Bytes contact_id_of(uint32_t n) {
  return Bytes{static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
               static_cast<uint8_t>(n), 0xc0, 0xde};
}

uint32_t number_of(const LinkRecord& r) {
  REQUIRE(r.contact_id.size() == 6);
  return uint32_t{r.contact_id[0]} << 24 | uint32_t{r.contact_id[1]} << 16 | uint32_t{r.contact_id[2]} << 8 |
         r.contact_id[3];
}

}  // namespace

TEST_CASE("roles link store: SIGKILL during writes never loses or corrupts an acknowledged record") {
  log::set_threshold(log::Level::error);
  const test::ScratchDir dir("link-store");
  const std::string path = dir.file("linked-phones.json");

  uint32_t next = 1;
  std::set<uint32_t> live, forgotten;  // must be present / must be absent
  const auto writer = [&](const std::function<void(uint32_t)>& ack) {
    LinkStore store(path);
    for (uint32_t n = next;; ++n) {
      auto links = store.list();
      if (!links) _exit(3);
      if (links->size() >= kMaxLive) {
        const LinkRecord& oldest = links->front();
        ack(kForgetting | number_of(oldest));
        auto gone = store.forget(oldest.name);
        if (!gone || !*gone) _exit(4);
        ack(kForgotten | number_of(oldest));
        continue;
      }
      auto phone = crypto::P256KeyPair::generate();
      LinkingInfo info;
      info.contact_id = contact_id_of(n);
      info.link_id = Bytes(8, 0x11);
      info.link_secret = SecretBytes(Bytes(32, static_cast<uint8_t>(n)));
      info.authenticator_public_key = phone.public_key();
      info.name = "phone-" + std::to_string(n);
      auto added = store.add(info, 0, "");
      if (!added || *added != info.name) _exit(4);
      ack(n);
    }
  };
  const auto check = [&](const std::vector<uint32_t>& acks) {
    for (uint32_t a : acks) {
      if (a & kForgetting) {
        live.erase(a & ~kForgetting);  // a forget that returned without its ack is fine
      } else if (a & kForgotten) {
        live.erase(a & ~kForgotten);
        forgotten.insert(a & ~kForgotten);
      } else {
        live.insert(a);
        next = std::max(next, a + 1);
      }
    }
    auto links = LinkStore(path).list();
    INFO("the file after a kill: " << (links ? "lists" : links.error().message));
    REQUIRE(links.ok());
    std::set<uint32_t> present;
    for (const auto& l : *links) {
      present.insert(number_of(l));
      REQUIRE(l.link_secret == Bytes(32, static_cast<uint8_t>(number_of(l))));  // not mixed up
      REQUIRE(l.phone_public_key.size() == 65);
    }
    for (uint32_t a : live) {
      INFO("acknowledged phone " << a);
      REQUIRE(present.count(a) == 1);
    }
    for (uint32_t f : forgotten) {
      INFO("acknowledged forget of phone " << f);
      REQUIRE(present.count(f) == 0);
    }
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0) REQUIRE((st.st_mode & 0777) == 0600);
    // Written but not acknowledged continues the numbering.
    if (!present.empty()) next = std::max(next, *present.rbegin() + 1);
  };
  const int rounds = test::kill_rounds_from_env(250);
  auto stats = test::kill_writer_loop(rounds, std::chrono::seconds(rounds > 250 ? 600 : 40), 30000, writer, check);
  WARN("link store: " << stats.rounds << " kills, " << stats.acknowledgements << " acknowledged writes, "
                      << live.size() << " phones stored, " << forgotten.size() << " forgotten");
  // Only meaningful if writers really were interrupted mid-stream, many times.
  CHECK(stats.rounds >= std::min(rounds, 50));
  CHECK(stats.acknowledgements >= 20);
  CHECK(stats.rounds_with_acks >= stats.rounds / 4);
}
