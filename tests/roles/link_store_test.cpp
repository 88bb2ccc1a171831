// The linked-phones file read back: a record that round-trips, and damaged numbers refused
// with a message instead of being cast (a float) or wrapped (a domain id over 65535).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>

#include "crypto/p256.h"
#include "roles/link_store.h"
#include "tests/support/scratch_dir.h"

using namespace hybrid;
using namespace hybrid::roles;
using nlohmann::json;

namespace {

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
}
void write_json(const std::string& path, const json& j) { std::ofstream(path, std::ios::trunc) << j.dump(); }

}  // namespace

TEST_CASE("roles link store: a domain id and a link time must be whole numbers in range") {
  const test::ScratchDir dir("link-store-numbers");
  const std::string path = dir.file("linked-phones.json");
  LinkStore store(path);
  LinkingInfo info;
  info.contact_id = Bytes{1, 2, 3};
  info.link_id = Bytes(8, 0x11);
  info.link_secret = SecretBytes(Bytes(32, 7));
  info.authenticator_public_key = crypto::P256KeyPair::generate().public_key();
  info.name = "pixel";
  REQUIRE(store.add(info, 1, "").ok());
  auto links = store.list();
  REQUIRE(links.ok());
  REQUIRE(links->size() == 1);
  CHECK(links->front().domain_id == 1);
  const json good = read_json(path);
  REQUIRE(good.at("phones").size() == 1);

  // Before: 70000 read as domain id 4464 and 1e300 was cast to an integer (undefined).
  for (const auto& [key, value] : std::vector<std::pair<std::string, json>>{{"domain_id", json(70000)},
                                                                            {"domain_id", json::parse("1.5")},
                                                                            {"domain_id", json(-1)},
                                                                            {"linked_at", json::parse("1e300")},
                                                                            {"linked_at", json("yesterday")}}) {
    json bad = good;
    bad["phones"][0][key] = value;
    write_json(path, bad);
    auto r = LinkStore(path).list();
    INFO(key << " = " << value.dump());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("is damaged") && Catch::Contains(key));
  }
  json without_time = good;
  without_time["phones"][0].erase("linked_at");
  write_json(path, without_time);
  auto r = LinkStore(path).list();
  REQUIRE(r.ok());
  CHECK(r->front().linked_at == 0);
  CHECK(r->front().name == "pixel");
}
