// The CTAP policy in front of the phone: getInfo contents, transports stripping, silent
// probes, the assertion reuse window, cancel and timeout.
#include <catch2/catch.hpp>

#include "bridge/ctap_front.h"
#include "bridge/fake_phone_backend.h"
#include "cbor/codec.h"
#include "crypto/primitives.h"

using namespace std::string_view_literals;

using namespace hybrid;
using namespace hybrid::bridge;
using namespace std::chrono_literals;

namespace {

const TimePoint T0 = TimePoint{} + std::chrono::hours(1);

Bytes request(CtapCommand cmd, const cbor::Map& params) {
  Bytes out{uint8_t(cmd)};
  auto body = cbor::encode(cbor::Value(params));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

cbor::Map body_of(const Bytes& response) {
  REQUIRE(response.size() > 1);
  REQUIRE(response[0] == 0x00);
  auto v = cbor::decode(ByteView(response).subspan(1));
  REQUIRE(v.ok());
  REQUIRE(v->is_map());
  return v->as_map();
}

cbor::Value descriptor(const Bytes& id, bool with_transports) {
  cbor::Map d{{"id", id}, {"type", "public-key"}};
  if (with_transports) d.set("transports", cbor::Array{"usb"});
  return d;
}

cbor::Map assertion_params(const Bytes& cdh, cbor::Array allow, std::optional<bool> up = std::nullopt,
                           std::string rp = "example.com") {
  cbor::Map p{{1, rp}, {2, cdh}};
  if (!allow.empty()) p.set(3, std::move(allow));
  if (up) p.set(5, cbor::Map{{"up", *up}});
  return p;
}

cbor::Map make_credential_params(cbor::Array exclude = {}) {
  cbor::Map p{{1, Bytes(32, 0x11)},
              {2, cbor::Map{{"id", "example.com"}, {"name", "Example"}}},
              {3, cbor::Map{{"id", Bytes{1, 2, 3}}, {"name", "alice"}}},
              {4, cbor::Array{cbor::Map{{"alg", -7}, {"type", "public-key"}}}}};
  if (!exclude.empty()) p.set(5, std::move(exclude));
  return p;
}

cbor::Map forwarded_params(const FrontAction& a, CtapCommand expected) {
  REQUIRE(a.start_phone.has_value());
  REQUIRE_FALSE(a.respond.has_value());
  const Bytes& req = *a.start_phone;
  REQUIRE(req.size() > 1);
  CHECK(req[0] == uint8_t(expected));
  auto v = cbor::decode(ByteView(req).subspan(1));  // strict: what goes to a phone is canonical
  REQUIRE(v.ok());
  return v->as_map();
}

std::vector<Bytes> ids_of(const cbor::Value& list) {
  std::vector<Bytes> out;
  for (const auto& d : list.as_array()) out.push_back(d.as_map().find("id"sv)->as_bytes());
  return out;
}

uint8_t status_of(const FrontAction& a) {
  REQUIRE(a.respond.has_value());
  REQUIRE_FALSE(a.respond->empty());
  return (*a.respond)[0];
}

}  // namespace

TEST_CASE("getInfo is answered locally with what clients need and no PIN protocols") {
  CtapFront front;
  auto a = front.on_request(Bytes{0x04}, T0);
  REQUIRE(a.respond.has_value());
  CHECK_FALSE(a.start_phone.has_value());
  auto info = body_of(*a.respond);
  // Canonical, as strict clients (python-fido2) demand.
  CHECK(cbor::decode(ByteView(*a.respond).subspan(1)).ok());

  auto versions = info.find(1);
  REQUIRE(versions);
  CHECK(versions->as_array() == cbor::Array{"FIDO_2_0", "FIDO_2_1"});
  REQUIRE(info.find(3));
  CHECK(info.find(3)->as_bytes().size() == 16);
  auto options = info.find(4);
  REQUIRE(options);
  CHECK(options->as_map().find("rk"sv)->as_bool());
  CHECK(options->as_map().find("up"sv)->as_bool());
  CHECK(options->as_map().find("uv"sv)->as_bool());
  CHECK(options->as_map().find("clientPin"sv) == nullptr);
  CHECK(info.find(6) == nullptr);  // no pinUvAuthProtocols
  REQUIRE(info.find(7));
  CHECK(info.find(7)->as_unsigned() == 64);
  REQUIRE(info.find(8));
  CHECK(info.find(8)->as_unsigned() == 1023);
  REQUIRE(info.find(9));
  CHECK(info.find(9)->as_array() == cbor::Array{"hybrid"});
  REQUIRE(info.find(5));
  CHECK(info.find(5)->as_unsigned() == kMaxMessageSize);
  CHECK(front.stats().answered_locally == 1);
  CHECK(front.stats().phone_transactions == 0);

  CtapFrontOptions o;
  o.max_credential_count_in_list = 10;
  o.max_credential_id_length = 128;
  CtapFront custom(o);
  auto info2 = body_of(custom.on_request(Bytes{0x04}, T0).respond.value());
  CHECK(info2.find(7)->as_unsigned() == 10);
  CHECK(info2.find(8)->as_unsigned() == 128);
}

TEST_CASE("transports are stripped from allowList descriptors before forwarding") {
  CtapFront front;
  Bytes a(16, 0xaa), b(20, 0xbb);
  auto params = assertion_params(Bytes(32, 1), cbor::Array{descriptor(a, true), descriptor(b, false)});
  params.set(5, cbor::Map{{"uv", true}});
  auto action = front.on_request(request(CtapCommand::get_assertion, params), T0);
  auto fwd = forwarded_params(action, CtapCommand::get_assertion);
  auto list = fwd.find(3);
  REQUIRE(list);
  REQUIRE(list->as_array().size() == 2);
  for (const auto& d : list->as_array()) {
    CHECK(d.as_map().find("transports"sv) == nullptr);
    CHECK(d.as_map().find("type"sv)->as_text() == "public-key");
  }
  CHECK(ids_of(*list) == std::vector<Bytes>{a, b});
  // Everything else is untouched.
  CHECK(fwd.find(1)->as_text() == "example.com");
  CHECK(fwd.find(2)->as_bytes() == Bytes(32, 1));
  CHECK(fwd.find(5)->as_map().find("uv"sv)->as_bool());
  CHECK(front.stats().transports_stripped == 1);
  CHECK(front.waiting());
}

TEST_CASE("transports are stripped from excludeList descriptors before forwarding") {
  CtapFront front;
  Bytes a(16, 0xaa);
  auto action = front.on_request(
      request(CtapCommand::make_credential, make_credential_params(cbor::Array{descriptor(a, true)})), T0);
  auto fwd = forwarded_params(action, CtapCommand::make_credential);
  REQUIRE(fwd.find(5));
  REQUIRE(fwd.find(5)->as_array().size() == 1);
  CHECK(fwd.find(5)->as_array()[0].as_map().find("transports"sv) == nullptr);
  CHECK(fwd.find(5)->as_array()[0].as_map().find("id"sv)->as_bytes() == a);
  CHECK(fwd.find(2)->as_map().find("id"sv)->as_text() == "example.com");
  CHECK(front.stats().transports_stripped == 1);
}

TEST_CASE("a non-canonical client request is forwarded canonically") {
  CtapFront front;
  // {2: h'00…', 1: "example.com"}: keys out of order.
  Bytes cbor_bytes{0xa2, 0x02, 0x58, 0x20};
  cbor_bytes.insert(cbor_bytes.end(), 32, 0x00);
  cbor_bytes.push_back(0x01);
  cbor_bytes.push_back(0x6b);
  for (char c : std::string("example.com")) cbor_bytes.push_back(uint8_t(c));
  Bytes req{0x02};
  req.insert(req.end(), cbor_bytes.begin(), cbor_bytes.end());
  auto action = front.on_request(req, T0);
  auto fwd = forwarded_params(action, CtapCommand::get_assertion);
  CHECK(fwd.find(1)->as_text() == "example.com");
  CHECK((*action.start_phone)[2] == 0x01);  // key 1 now first
}

TEST_CASE("a silent up=false probe never reaches the phone") {
  Bytes a(16, 0xaa), b(16, 0xbb);
  SECTION("with an allowList: a pre-flight match naming the first credential, no signature") {
    CtapFront front;
    auto action = front.on_request(
        request(CtapCommand::get_assertion,
                assertion_params(Bytes(32, 2), cbor::Array{descriptor(a, true), descriptor(b, true)}, false)),
        T0);
    CHECK_FALSE(action.start_phone.has_value());
    auto resp = body_of(action.respond.value());
    CHECK(resp.find(1)->as_map().find("id"sv)->as_bytes() == a);
    CHECK(resp.find(1)->as_map().find("type"sv)->as_text() == "public-key");
    const Bytes& auth_data = resp.find(2)->as_bytes();
    REQUIRE(auth_data.size() == 37);
    auto rp_hash = crypto::sha256(as_bytes("example.com"));
    CHECK(Bytes(auth_data.begin(), auth_data.begin() + 32) == Bytes(rp_hash.begin(), rp_hash.end()));
    CHECK(auth_data[32] == 0x00);  // neither UP nor UV
    CHECK(resp.find(3)->as_bytes().empty());
    CHECK(front.stats().probes_answered == 1);
    CHECK(front.stats().phone_transactions == 0);
    CHECK_FALSE(front.waiting());
  }
  SECTION("without an allowList: no credentials") {
    CtapFront front;
    auto action =
        front.on_request(request(CtapCommand::get_assertion, assertion_params(Bytes(32, 2), {}, false)), T0);
    CHECK(status_of(action) == uint8_t(CtapStatus::no_credentials));
    CHECK_FALSE(action.start_phone.has_value());
  }
  SECTION("with the no-credentials policy") {
    CtapFrontOptions o;
    o.probe_answer = ProbeAnswer::no_credentials;
    CtapFront front(o);
    auto action = front.on_request(
        request(CtapCommand::get_assertion, assertion_params(Bytes(32, 2), cbor::Array{descriptor(a, false)}, false)),
        T0);
    CHECK(status_of(action) == uint8_t(CtapStatus::no_credentials));
    CHECK_FALSE(action.start_phone.has_value());
  }
}

TEST_CASE("the real request after probes gets the whole probed list back (Firefox pre-flight)") {
  CtapFront front;
  Bytes a(16, 0xaa), b(16, 0xbb), c(16, 0xcc);
  // Firefox probes in chunks, then sends the real request with only the "matched" one.
  (void)front.on_request(request(CtapCommand::get_assertion,
                                 assertion_params(Bytes(32, 0), cbor::Array{descriptor(a, true), descriptor(b, true)}, false)),
                         T0);
  (void)front.on_request(request(CtapCommand::get_assertion,
                                 assertion_params(Bytes(32, 0), cbor::Array{descriptor(c, true)}, false)),
                         T0 + 10ms);
  SECTION("within the window") {
    auto action = front.on_request(
        request(CtapCommand::get_assertion, assertion_params(Bytes(32, 9), cbor::Array{descriptor(a, true)})),
        T0 + 50ms);
    auto fwd = forwarded_params(action, CtapCommand::get_assertion);
    CHECK(ids_of(*fwd.find(3)) == std::vector<Bytes>{a, b, c});
    for (const auto& d : fwd.find(3)->as_array()) CHECK(d.as_map().find("transports"sv) == nullptr);
  }
  SECTION("after the window the client's list is used as is") {
    auto action = front.on_request(
        request(CtapCommand::get_assertion, assertion_params(Bytes(32, 9), cbor::Array{descriptor(a, true)})),
        T0 + 20s);
    auto fwd = forwarded_params(action, CtapCommand::get_assertion);
    CHECK(ids_of(*fwd.find(3)) == std::vector<Bytes>{a});
  }
  SECTION("for another relying party the list is used as is") {
    auto action = front.on_request(
        request(CtapCommand::get_assertion,
                assertion_params(Bytes(32, 9), cbor::Array{descriptor(a, true)}, std::nullopt, "other.example")),
        T0 + 50ms);
    auto fwd = forwarded_params(action, CtapCommand::get_assertion);
    CHECK(ids_of(*fwd.find(3)) == std::vector<Bytes>{a});
  }
  SECTION("makeCredential's excludeList is restored the same way") {
    auto action = front.on_request(
        request(CtapCommand::make_credential, make_credential_params(cbor::Array{descriptor(b, true)})), T0 + 50ms);
    auto fwd = forwarded_params(action, CtapCommand::make_credential);
    CHECK(ids_of(*fwd.find(5)) == std::vector<Bytes>{b, a, c});
  }
}

TEST_CASE("the phone's assertion answers the immediate second, directed getAssertion once") {
  CtapFront front;
  // The project's software authenticator, answering synchronously.
  auto backend = FakePhoneBackend::with_software_authenticator();
  struct {
    FakePhoneBackend* backend;
    Bytes process(const Bytes& request) {
      Bytes out;
      backend->start(request, [&](PhoneResponse r) { out = r.ok() ? *r : Bytes{0x7f}; });
      return out;
    }
  } phone{backend.get()};
  Bytes cdh(32, 0x42);
  // Register a discoverable credential on the "phone".
  auto mc = make_credential_params();
  mc.set(7, cbor::Map{{"rk", true}, {"uv", true}});
  auto made = phone.process(request(CtapCommand::make_credential, mc));
  REQUIRE(made[0] == 0);

  auto first = front.on_request(request(CtapCommand::get_assertion,
                                        [&] {
                                          auto p = assertion_params(cdh, {});
                                          p.set(5, cbor::Map{{"uv", true}});
                                          return p;
                                        }()),
                                T0);
  REQUIRE(first.start_phone.has_value());
  auto phone_answer = phone.process(*first.start_phone);
  auto answered = front.on_phone_result(phone_answer, T0 + 2s);
  REQUIRE(answered.respond.has_value());
  CHECK(*answered.respond == phone_answer);
  Bytes cred_id = body_of(phone_answer).find(1)->as_map().find("id"sv)->as_bytes();

  auto directed = [&](const Bytes& hash, TimePoint at, bool uv = true) {
    auto p = assertion_params(hash, cbor::Array{descriptor(cred_id, true)});
    if (uv) p.set(5, cbor::Map{{"uv", true}});
    return front.on_request(request(CtapCommand::get_assertion, p), at);
  };
  SECTION("within the window, same ceremony: answered from the cache, once") {
    auto second = directed(cdh, T0 + 3s);
    CHECK_FALSE(second.start_phone.has_value());
    REQUIRE(second.respond.has_value());
    CHECK(*second.respond == phone_answer);
    CHECK(front.stats().assertions_reused == 1);
    auto third = directed(cdh, T0 + 3500ms);
    CHECK(third.start_phone.has_value());  // single use
  }
  SECTION("a different clientDataHash is a different ceremony") {
    auto second = directed(Bytes(32, 0x43), T0 + 3s);
    CHECK(second.start_phone.has_value());
  }
  SECTION("after the window the phone is asked again") {
    auto second = directed(cdh, T0 + 2s + 6s);
    CHECK(second.start_phone.has_value());
  }
  SECTION("a request for other credentials is not answered from the cache") {
    auto p = assertion_params(cdh, cbor::Array{descriptor(Bytes(16, 0x77), false)});
    auto second = front.on_request(request(CtapCommand::get_assertion, p), T0 + 3s);
    CHECK(second.start_phone.has_value());
  }
}

TEST_CASE("numberOfCredentials is removed from the phone's answer") {
  CtapFront front;
  auto first = front.on_request(request(CtapCommand::get_assertion, assertion_params(Bytes(32, 1), {})), T0);
  REQUIRE(first.start_phone.has_value());
  cbor::Map resp{{1, cbor::Map{{"id", Bytes(16, 5)}, {"type", "public-key"}}},
                 {2, Bytes(37, 0)},
                 {3, Bytes{0x30, 0x00}},
                 {4, cbor::Map{{"id", Bytes{1}}}},
                 {5, 3}};
  Bytes phone_answer{0x00};
  auto enc = cbor::encode(cbor::Value(resp));
  phone_answer.insert(phone_answer.end(), enc.begin(), enc.end());
  auto a = front.on_phone_result(phone_answer, T0 + 1s);
  auto body = body_of(a.respond.value());
  CHECK(body.find(5) == nullptr);
  CHECK(body.find(4) != nullptr);
  CHECK(body.find(1)->as_map().find("id"sv)->as_bytes() == Bytes(16, 5));
  // And there is never a next assertion.
  CHECK(status_of(front.on_request(Bytes{0x08}, T0 + 2s)) == uint8_t(CtapStatus::not_allowed));
}

TEST_CASE("CANCEL ends the phone transaction with KEEPALIVE_CANCEL; the late answer is ignored") {
  CtapFront front;
  auto a = front.on_request(request(CtapCommand::make_credential, make_credential_params()), T0);
  REQUIRE(a.start_phone.has_value());
  auto c = front.on_cancel(T0 + 1s);
  CHECK(status_of(c) == uint8_t(CtapStatus::keepalive_cancel));
  CHECK(c.respond->size() == 1);
  CHECK(c.cancel_phone);
  CHECK_FALSE(front.waiting());
  CHECK(front.stats().cancels == 1);
  auto late = front.on_phone_result(Bytes{0x00, 0xa0}, T0 + 2s);
  CHECK_FALSE(late.respond.has_value());
  CHECK_FALSE(late.start_phone.has_value());
}

TEST_CASE("abort cancels the phone without answering") {
  CtapFront front;
  REQUIRE(front.on_request(request(CtapCommand::make_credential, make_credential_params()), T0).start_phone);
  auto a = front.on_abort();
  CHECK(a.cancel_phone);
  CHECK_FALSE(a.respond.has_value());
  CHECK_FALSE(front.waiting());
}

TEST_CASE("the phone timeout answers USER_ACTION_TIMEOUT and cancels the phone") {
  CtapFrontOptions o;
  o.phone_timeout = 30s;
  CtapFront front(o);
  REQUIRE(front.on_request(request(CtapCommand::make_credential, make_credential_params()), T0).start_phone);
  CHECK(front.next_deadline() == T0 + 30s);
  CHECK_FALSE(front.on_timer(T0 + 29s).respond.has_value());
  auto t = front.on_timer(T0 + 30s);
  CHECK(status_of(t) == uint8_t(CtapStatus::user_action_timeout));
  CHECK(t.cancel_phone);
  CHECK(front.stats().timeouts == 1);
  CHECK_FALSE(front.next_deadline().has_value());
}

TEST_CASE("phone failures map to CTAP status bytes") {
  auto run = [](PhoneResponse r) {
    CtapFront front;
    REQUIRE(front.on_request(request(CtapCommand::make_credential, make_credential_params()), T0).start_phone);
    auto a = front.on_phone_result(r, T0 + 1s);
    REQUIRE(a.respond.has_value());
    return *a.respond;
  };
  CHECK(run(make_error(PhoneError::timeout, "no scan")) == Bytes{0x2f});
  CHECK(run(make_error(PhoneError::cancelled, "user said no")) == Bytes{0x2d});
  CHECK(run(make_error(PhoneError::unavailable, "no bluetooth")) == Bytes{0x7f});
  CHECK(run(make_error("tunnel closed")) == Bytes{0x7f});
  CHECK(run(Bytes{}) == Bytes{0x7f});
  CHECK(run(Bytes{0x19}) == Bytes{0x19});  // the phone's own errors pass through
  CHECK(run(Bytes(kMaxMessageSize + 1, 0)) == Bytes{0x7f});
}

TEST_CASE("requests the bridge refuses locally") {
  CtapFront front;
  auto status = [&](ByteView req) { return status_of(front.on_request(req, T0)); };
  CHECK(status(Bytes{}) == uint8_t(CtapStatus::invalid_length));
  CHECK(status(Bytes{0x06, 0xa0}) == uint8_t(CtapStatus::invalid_command));  // clientPIN
  CHECK(status(Bytes{0x07}) == uint8_t(CtapStatus::invalid_command));        // reset
  CHECK(status(Bytes{0x0a, 0xa0}) == uint8_t(CtapStatus::invalid_command));  // credentialManagement
  CHECK(status(Bytes{0x41}) == uint8_t(CtapStatus::invalid_command));
  CHECK(status(Bytes{0x08}) == uint8_t(CtapStatus::not_allowed));            // getNextAssertion
  CHECK(status(Bytes{0x02}) == uint8_t(CtapStatus::missing_parameter));
  CHECK(status(Bytes{0x02, 0xa1}) == uint8_t(CtapStatus::invalid_cbor));     // truncated
  CHECK(status(Bytes{0x02, 0xa0, 0x00}) == uint8_t(CtapStatus::invalid_cbor));  // trailing byte
  CHECK(status(Bytes{0x02, 0x80}) == uint8_t(CtapStatus::cbor_unexpected_type));
  CHECK(status(request(CtapCommand::get_assertion, cbor::Map{{1, "example.com"}})) ==
        uint8_t(CtapStatus::missing_parameter));
  CHECK(status(request(CtapCommand::get_assertion, cbor::Map{{1, 5}, {2, Bytes(32, 0)}})) ==
        uint8_t(CtapStatus::cbor_unexpected_type));
  CHECK(status(request(CtapCommand::get_assertion,
                       cbor::Map{{1, "example.com"}, {2, Bytes(32, 0)}, {3, cbor::Array{5}}})) ==
        uint8_t(CtapStatus::cbor_unexpected_type));
  CHECK(status(request(CtapCommand::get_assertion,
                       cbor::Map{{1, "example.com"}, {2, Bytes(32, 0)}, {6, Bytes(16, 0)}, {7, 1}})) ==
        uint8_t(CtapStatus::pin_auth_invalid));
  auto mc = make_credential_params();
  mc.set(7, cbor::Map{{"up", false}});
  CHECK(status(request(CtapCommand::make_credential, mc)) == uint8_t(CtapStatus::invalid_option));
  auto mc2 = make_credential_params();
  mc2.set(8, Bytes{});
  CHECK(status(request(CtapCommand::make_credential, mc2)) == uint8_t(CtapStatus::pin_auth_invalid));
  CHECK(status(request(CtapCommand::make_credential, cbor::Map{{1, Bytes(32, 0)}})) ==
        uint8_t(CtapStatus::missing_parameter));
  CHECK(front.stats().phone_transactions == 0);
  CHECK_FALSE(front.waiting());
}

TEST_CASE("authenticatorSelection waits: the bridge cannot be touched, so only cancel or timeout end it") {
  CtapFront front;
  auto a = front.on_request(Bytes{0x0b}, T0);
  CHECK_FALSE(a.respond.has_value());
  CHECK_FALSE(a.start_phone.has_value());
  CHECK(front.waiting());
  auto c = front.on_cancel(T0 + 1s);
  CHECK(status_of(c) == uint8_t(CtapStatus::keepalive_cancel));
  CHECK_FALSE(c.cancel_phone);
}

TEST_CASE("strip_transports refuses descriptors that are not maps with a byte-string id") {
  size_t n = 0;
  CHECK_FALSE(strip_transports(cbor::Array{1}, &n).has_value());
  CHECK_FALSE(strip_transports(cbor::Array{cbor::Map{{"type", "public-key"}}}, &n).has_value());
  CHECK_FALSE(strip_transports(cbor::Array{cbor::Map{{"id", "text"}}}, &n).has_value());
  auto ok = strip_transports(cbor::Array{descriptor(Bytes{1}, true), descriptor(Bytes{2}, false)}, &n);
  REQUIRE(ok.has_value());
  CHECK(n == 1);
}
