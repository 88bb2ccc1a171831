// The kiosk's accounts (SQLite, WAL) under SIGKILL: a writer creates accounts with their
// passkeys and updates sign counts, and is killed at random moments (hundreds of times;
// HYBRID_KILL_ROUNDS=1000 for the count). After every kill the database must open,
// pass SQLite's integrity check, and hold every account, passkey and update whose call
// returned (0 lost or corrupted acknowledged records).
#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "base/log.h"
#include "crypto/p256.h"
#include "ctap/cose_key.h"
#include "demo/account_store.h"
#include "tests/support/kill_writer.h"
#include "tests/support/scratch_dir.h"

using namespace hybrid;
using namespace hybrid::demo;

namespace {

constexpr uint32_t kUpdated = 0x80000000u;  // ack flag: this passkey's sign count became 1

std::string name_of(uint32_t n) { return "user" + std::to_string(n); }
Bytes handle_of(uint32_t n) {  // unique per account, as the store requires
  return Bytes{0x75, static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
               static_cast<uint8_t>(n)};
}
Bytes id_of(uint32_t n) {
  return Bytes{0xc1, static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16), static_cast<uint8_t>(n >> 8),
               static_cast<uint8_t>(n)};
}

webauthn::RegisteredCredential passkey_of(uint32_t n) {
  webauthn::RegisteredCredential c;
  c.id = id_of(n);
  static const Bytes cose = ctap::encode_cose_key(crypto::P256KeyPair::generate().public_key());
  c.public_key_cose = cose;
  c.user_name = name_of(n);
  c.user_handle = handle_of(n);
  c.backup_eligible = n % 2 == 0;
  c.profile = "staff";
  c.created_at = 1700000000 + n;
  return c;
}

// SQLite's verdict on the file, or why it could not give one. Opened read-write, as the
// kiosk opens it: after a kill the WAL index may need rebuilding, which a read-only
// connection may not do (SQLITE_READONLY_RECOVERY) and a reader racing it waits for.
std::string integrity_check(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string why = "cannot open: " + std::string(db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return why;
  }
  sqlite3_busy_timeout(db, 5000);
  std::string result;
  char* error = nullptr;
  int rc = sqlite3_exec(db, "PRAGMA integrity_check;", [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) += values[0] ? values[0] : "null";
    return 0;
  }, &result, &error);
  if (rc != SQLITE_OK) {
    result = "integrity_check failed (" + std::to_string(rc) + "): " + (error ? error : sqlite3_errstr(rc));
  }
  sqlite3_free(error);
  sqlite3_close(db);
  return result;
}

}  // namespace

TEST_CASE("demo account store: SIGKILL during writes never loses or corrupts an acknowledged record") {
  log::set_threshold(log::Level::error);
  const test::ScratchDir dir("accounts");
  const std::string path = dir.file("kiosk.sqlite");

  uint32_t next = 1;
  std::map<uint32_t, uint32_t> acknowledged;  // passkey -> least sign count it must have
  const auto writer = [&](const std::function<void(uint32_t)>& ack) {
    const auto fail = [](const Status& st) {
      fprintf(stderr, "account store writer: %s\n", st.error().message.c_str());
      _exit(4);
    };
    auto store = AccountStore::open(path);
    if (!store) _exit(3);
    const uint32_t first = next;
    for (uint32_t n = next;; ++n) {
      if (n % 3 == 0 && n - 1 >= first) {
        auto c = passkey_of(n - 1);
        c.sign_count = 1;
        c.last_used_at = 1800000000;
        if (auto st = (*store)->update_credential(c); !st.ok()) fail(st);
        ack(kUpdated | (n - 1));
      }
      webauthn::UserAccount a{name_of(n), "User " + std::to_string(n), handle_of(n), {"staff"}};
      if (auto st = (*store)->add_account(a); !st.ok()) fail(st);
      if (auto st = (*store)->add_credential(passkey_of(n)); !st.ok()) fail(st);
      ack(n);
    }
  };
  const auto check = [&](const std::vector<uint32_t>& acks) {
    for (uint32_t a : acks) {
      if (a & kUpdated) acknowledged[a & ~kUpdated] = 1;
      else acknowledged.emplace(a, 0), next = std::max(next, a + 1);
    }
    // A kill that lands before the first writer has created the database leaves nothing to
    // check (and nothing was acknowledged); once anything was, the file must be there.
    if (acknowledged.empty() && !std::filesystem::exists(path)) return;
    INFO("integrity_check after a kill");
    REQUIRE(integrity_check(path) == "ok");
    auto store = AccountStore::open(path);
    REQUIRE(store.ok());
    for (const auto& [n, sign_count] : acknowledged) {
      INFO("acknowledged account and passkey " << n);
      auto account = (*store)->find_account(name_of(n));
      REQUIRE(account.ok());
      REQUIRE(account->has_value());
      REQUIRE((*account)->handle == handle_of(n));
      auto passkey = (*store)->find_credential(id_of(n));
      INFO("find_credential: " << (passkey.ok() ? "ok" : passkey.error().message));
      REQUIRE(passkey.ok());
      REQUIRE(passkey->has_value());
      REQUIRE((*passkey)->user_name == name_of(n));
      REQUIRE((*passkey)->sign_count >= sign_count);
    }
    // Accounts written but not acknowledged continue the numbering (names are unique).
    auto all = (*store)->accounts();
    REQUIRE(all.ok());
    for (const auto& a : *all) next = std::max<uint32_t>(next, static_cast<uint32_t>(std::stoul(a.name.substr(4))) + 1);
  };
  const int rounds = test::kill_rounds_from_env(250);
  auto stats = test::kill_writer_loop(rounds, std::chrono::seconds(rounds > 250 ? 600 : 40), 30000, writer, check);
  WARN("account store: " << stats.rounds << " kills, " << stats.acknowledgements << " acknowledged writes, "
                         << acknowledged.size() << " accounts with passkeys");
  CHECK(stats.rounds >= std::min(rounds, 50));
  CHECK(stats.acknowledgements >= 20);
  CHECK(stats.rounds_with_acks >= stats.rounds / 4);
}
