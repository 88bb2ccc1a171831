#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <fstream>
#include <random>
#include <set>

#include "base/log.h"
#include "crypto/p256.h"
#include "crypto/primitives.h"
#include "ctap/credential_store.h"
#include "tests/support/scratch_dir.h"
#include "webauthn/attestation_verification.h"

using namespace hybrid;
using namespace hybrid::ctap;
using namespace hybrid::webauthn;
namespace fs = std::filesystem;

namespace {

StoredCredential make_credential(uint32_t n) {
  StoredCredential c;
  c.id = crypto::random_bytes(32);
  c.rp_id = "example.com";
  c.rp_name = "Example";
  c.user = UserEntity{Bytes{uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)},
                      "user" + std::to_string(n), std::nullopt};
  c.private_key = crypto::P256KeyPair::generate().private_scalar();
  c.cred_random_with_uv = SecretBytes(crypto::random_bytes(32));
  c.cred_random_without_uv = SecretBytes(crypto::random_bytes(32));
  c.kind = n % 2 ? PasskeyKind::synced : PasskeyKind::device_bound;
  c.created_at = 1700000000 + n;
  return c;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

uint32_t user_number(const StoredCredential& c) {
  const Bytes& id = c.user.id;
  REQUIRE(id.size() == 4);
  return (uint32_t(id[0]) << 24) | (uint32_t(id[1]) << 16) | (uint32_t(id[2]) << 8) | id[3];
}

}  // namespace

TEST_CASE("ctap store: persists atomically with mode 0600 and reopens") {
  log::set_threshold(log::Level::warn);
  test::ScratchDir dir("ctap-store");
  const std::string path = dir.file("credentials.json");
  Bytes first_id;
  {
    auto store = CredentialStore::open(path);
    REQUIRE(store.ok());
    CHECK(fs::exists(path));  // created empty at once
    CHECK(mode_of(path) == 0600);
    auto c = make_credential(1);
    first_id = c.id;
    REQUIRE(store->add(std::move(c)).ok());
    REQUIRE(store->add(make_credential(2)).ok());
    REQUIRE(store->set_sign_count(first_id, 7).ok());
    auto identity = AttestationIdentity::generate(Aaguid{1}, "Test Phone");
    REQUIRE(store->set_attestation(identity).ok());
    CHECK(mode_of(path) == 0600);

    SECTION("a second process (or object) cannot open it meanwhile") {
      auto again = CredentialStore::open(path);
      REQUIRE_FALSE(again.ok());
      CHECK_THAT(again.error().message, Catch::Contains("in use"));
    }
  }
  auto store = CredentialStore::open(path);
  REQUIRE(store.ok());
  REQUIRE(store->credentials().size() == 2);
  const StoredCredential* c1 = store->find("example.com", first_id);
  REQUIRE(c1);
  CHECK(c1->sign_count == 7);
  CHECK(c1->user.name == std::optional<std::string>("user1"));
  CHECK(crypto::P256KeyPair::from_private_scalar(c1->private_key).ok());
  CHECK(store->for_rp("example.com").size() == 2);
  CHECK(store->for_rp("example.com").front()->created_at == 1700000002);  // newest first
  CHECK(store->for_rp("other.example").empty());
  auto att = store->attestation();
  REQUIRE(att);
  CHECK(check_packed_certificate(att->batch, Aaguid{1}).ok());
  CHECK(verify_certificate_chain(att->batch, {}, {att->root}).ok());
  REQUIRE(store->remove(first_id).ok());
  CHECK(store->credentials().size() == 1);
  CHECK_FALSE(store->remove(first_id).ok());
}

TEST_CASE("ctap store: a damaged file is refused and left alone; stale temp files are cleaned") {
  log::set_threshold(log::Level::warn);
  test::ScratchDir dir("ctap-store");
  const std::string path = dir.file("credentials.json");
  {
    std::ofstream out(path);
    out << "{\"format\": \"hybrid-ctap-credential-store\", \"version\": 1, \"credentials\": [";
  }
  auto store = CredentialStore::open(path);
  REQUIRE_FALSE(store.ok());
  CHECK_THAT(store.error().message, Catch::Contains(path));
  std::ifstream in(path);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(contents.back() == '[');  // untouched

  const std::string path2 = dir.file("ok.json");
  REQUIRE(CredentialStore::open(path2).ok());
  { std::ofstream(path2 + ".tmp-123-abcd") << "half a write"; }
  ::chmod(path2.c_str(), 0644);
  auto reopened = CredentialStore::open(path2);
  REQUIRE(reopened.ok());
  CHECK_FALSE(fs::exists(path2 + ".tmp-123-abcd"));
  CHECK(mode_of(path2) == 0600);  // tightened

  CHECK_FALSE(CredentialStore::parse("{\"format\": \"something else\", \"version\": 1, \"credentials\": []}").ok());
  CHECK_FALSE(CredentialStore::parse("{\"format\": \"hybrid-ctap-credential-store\", \"version\": 2, \"credentials\": []}").ok());
  CHECK_FALSE(CredentialStore::parse(
                  "{\"format\": \"hybrid-ctap-credential-store\", \"version\": 1, \"credentials\": [{\"id\": \"AA\"}]}")
                  .ok());
}

TEST_CASE("ctap store: a passkey's numbers are whole numbers in range, refused otherwise") {
  auto store = CredentialStore::in_memory();
  REQUIRE(store.add(make_credential(7)).ok());
  const auto good = nlohmann::json::parse(store.serialize());
  REQUIRE(CredentialStore::parse(good.dump()).ok());
  // Before: 2^64 - 1 passed the is_number_integer() check and wrapped to a created_at of -1.
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{{"created_at", "18446744073709551615"},
                                                                                  {"created_at", "1.5"},
                                                                                  {"sign_count", "4294967296"},
                                                                                  {"sign_count", "-1"},
                                                                                  {"cred_protect", "2.0"}}) {
    auto bad = good;
    bad["credentials"][0][key] = nlohmann::json::parse(value);
    INFO(key << " = " << value);
    auto r = CredentialStore::parse(bad.dump());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(key));
  }
}

TEST_CASE("ctap store: SIGKILL at random moments never loses an acknowledged credential") {
  log::set_threshold(log::Level::error);
  test::ScratchDir dir("ctap-store");
  const std::string path = dir.file("credentials.json");
  std::mt19937 rng(std::random_device{}());
  std::set<uint32_t> acknowledged;
  uint32_t next = 0;
  int rounds_with_acks = 0;
  constexpr int kRounds = 60;
  constexpr size_t kMaxCredentials = 300;
  constexpr uint32_t kRewriteAck = 0xffffffff;  // an acknowledged rewrite, not a new credential
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const uint32_t start = next;
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto store = CredentialStore::open(path);
      if (!store.ok()) _exit(3);
      for (uint32_t n = start;; ++n) {
        if (store->credentials().size() >= kMaxCredentials) {
          // Enough credentials (the file stays small on fast disks): keep rewriting it.
          const auto& c = store->credentials()[n % store->credentials().size()];
          if (!store->set_sign_count(c.id, c.sign_count + 1).ok()) _exit(4);
          const uint32_t rewrite = kRewriteAck;
          if (::write(fds[1], &rewrite, sizeof rewrite) != sizeof rewrite) _exit(5);
          continue;
        }
        if (!store->add(make_credential(n)).ok()) _exit(4);
        // Acknowledged only once add() returned: from here on it must survive.
        if (::write(fds[1], &n, sizeof n) != sizeof n) _exit(5);
      }
    }
    ::close(fds[1]);
    // One add() costs a few fsyncs (about 16 ms on ext4): kills land mid-write.
    std::uniform_int_distribution<int> delay_us(0, 80000);
    ::usleep(static_cast<useconds_t>(delay_us(rng)));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    // A child that exited by itself failed (3: open, 4: add, 5: pipe).
    INFO("child exit status " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    REQUIRE(WIFSIGNALED(status));
    uint32_t n = 0;
    int acks = 0;
    while (::read(fds[0], &n, sizeof n) == sizeof n) {
      ++acks;
      if (n == kRewriteAck) continue;
      acknowledged.insert(n);
      next = n + 1;
    }
    ::close(fds[0]);
    if (acks) ++rounds_with_acks;

    // After every kill the file parses and holds everything acknowledged so far.
    auto store = CredentialStore::open(path);
    REQUIRE(store.ok());
    std::set<uint32_t> present;
    for (const auto& c : store->credentials()) present.insert(user_number(c));
    for (uint32_t a : acknowledged) {
      INFO("round " << round << ", acknowledged credential " << a);
      REQUIRE(present.count(a) == 1);
    }
    CHECK(mode_of(path) == 0600);
    // Whatever was written but not acknowledged continues the numbering.
    if (!present.empty()) next = std::max(next, *present.rbegin() + 1);
  }
  // The test only means something if writers were really interrupted mid-stream.
  CHECK(acknowledged.size() >= 20);
  CHECK(rounds_with_acks >= kRounds / 3);
}
