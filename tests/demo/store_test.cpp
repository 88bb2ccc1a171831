// The kiosk's SQLite account store: accounts, passkeys, constraints, persistence.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>

#include "crypto/primitives.h"
#include "ctap/cose_key.h"
#include "demo/account_store.h"

using namespace hybrid;
using namespace hybrid::demo;

namespace {

struct TempDir {
  TempDir() {
    char t[] = "/tmp/hybrid-demo-test-XXXXXX";
    REQUIRE(mkdtemp(t));
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

webauthn::UserAccount account(const std::string& name) {
  return webauthn::UserAccount{name, name + " Example", crypto::random_bytes(16), {"staff"}};
}

webauthn::RegisteredCredential credential(const std::string& user, const Bytes& handle) {
  // A real ES256 COSE key, since the record is validated when read back.
  webauthn::RegisteredCredential c;
  c.id = crypto::random_bytes(32);
  c.public_key_cose = ctap::encode_cose_key(crypto::P256KeyPair::generate().public_key());
  c.user_name = user;
  c.user_handle = handle;
  c.backup_eligible = true;
  c.backed_up = true;
  c.sign_count = 0;
  c.provider = "Test";
  c.profile = "staff";
  c.created_at = 1700000000;
  return c;
}

}  // namespace

TEST_CASE("account names are checked", "[demo][store]") {
  CHECK(check_account_name("alice").ok());
  CHECK(check_account_name("mary-ann.o_neil2").ok());
  CHECK_FALSE(check_account_name("").ok());
  CHECK_FALSE(check_account_name("Alice").ok());
  CHECK_FALSE(check_account_name("-alice").ok());
  CHECK_FALSE(check_account_name("a b").ok());
  CHECK_FALSE(check_account_name("<script>").ok());
  CHECK_FALSE(check_account_name(std::string(33, 'a')).ok());
  CHECK(check_account_name(std::string(32, 'a')).ok());
}

TEST_CASE("accounts and passkeys are stored and found", "[demo][store]") {
  auto store = AccountStore::open(":memory:");
  REQUIRE(store.ok());
  AccountStore& s = **store;
  auto alice = account("alice");
  REQUIRE(s.add_account(alice).ok());
  SECTION("by name and by handle") {
    auto found = s.find_account("alice");
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK(found->value().handle == alice.handle);
    CHECK(found->value().groups == std::vector<std::string>{"staff"});
    auto by_handle = s.find_account_by_handle(alice.handle);
    REQUIRE(by_handle.ok());
    REQUIRE(by_handle->has_value());
    CHECK(by_handle->value().name == "alice");
    CHECK_FALSE(s.find_account("bob")->has_value());
  }
  SECTION("names and handles are unique") {
    CHECK_FALSE(s.add_account(account("alice")).ok());
    auto twin = account("bob");
    twin.handle = alice.handle;
    CHECK_FALSE(s.add_account(twin).ok());
    auto bad = account("carol");
    bad.handle.clear();
    CHECK_FALSE(s.add_account(bad).ok());
  }
  SECTION("passkeys belong to an existing account and are unique") {
    auto c = credential("alice", alice.handle);
    REQUIRE(s.add_credential(c).ok());
    CHECK(s.credential_exists(c.id));
    CHECK_FALSE(s.credential_exists(crypto::random_bytes(32)));
    CHECK_FALSE(s.add_credential(c).ok());
    CHECK_FALSE(s.add_credential(credential("nobody", crypto::random_bytes(16))).ok());
    auto list = s.credentials_of("alice");
    REQUIRE(list.ok());
    REQUIRE(list->size() == 1);
    CHECK(list->front().id == c.id);
    CHECK(list->front().backup_eligible);
    CHECK(*s.credential_count() == 1);
  }
  SECTION("a sign-in updates the record") {
    auto c = credential("alice", alice.handle);
    REQUIRE(s.add_credential(c).ok());
    c.sign_count = 7;
    c.last_used_at = 1700000100;
    REQUIRE(s.update_credential(c).ok());
    auto found = s.find_credential(c.id);
    REQUIRE(found.ok());
    REQUIRE(found->has_value());
    CHECK(found->value().sign_count == 7);
    CHECK(found->value().last_used_at == 1700000100);
    CHECK_FALSE(s.update_credential(credential("alice", alice.handle)).ok());
  }
}

TEST_CASE("the store survives a restart", "[demo][store]") {
  TempDir dir;
  const std::string path = dir.path + "/kiosk.sqlite";
  auto alice = account("alice");
  auto c = credential("alice", alice.handle);
  {
    auto store = AccountStore::open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->add_account(alice).ok());
    REQUIRE((*store)->add_credential(c).ok());
  }
  auto store = AccountStore::open(path);
  REQUIRE(store.ok());
  auto accounts = (*store)->accounts();
  REQUIRE(accounts.ok());
  REQUIRE(accounts->size() == 1);
  CHECK(accounts->front().name == "alice");
  auto found = (*store)->find_credential(c.id);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK(found->value().public_key_cose == c.public_key_cose);
}

TEST_CASE("an unusable database path is an error a person can act on", "[demo][store]") {
  auto store = AccountStore::open("/nonexistent-dir/kiosk.sqlite");
  REQUIRE_FALSE(store.ok());
  CHECK_THAT(store.error().message, Catch::Contains("/nonexistent-dir/kiosk.sqlite"));
}
