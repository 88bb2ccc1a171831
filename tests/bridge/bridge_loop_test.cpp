// The whole bridge loop over a real SOCK_SEQPACKET socketpair, with a FakePhoneBackend
// (ctap::SoftwareAuthenticator behind it) answering on its own thread: makeCredential and
// getAssertion verify, CANCEL mid-transaction, keepalives in real time, the host closing.
#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "bridge/bridge.h"
#include "bridge/fake_phone_backend.h"
#include "bridge/socket_hid_device.h"
#include "cbor/codec.h"
#include "crypto/p256.h"
#include "crypto/primitives.h"

using namespace hybrid;
using namespace hybrid::bridge;
using namespace std::chrono_literals;
using namespace std::string_view_literals;

namespace {

// A minimal CTAPHID host over the client end of the socketpair.
class Host {
 public:
  explicit Host(int fd) : fd_(fd) {}
  ~Host() {
    if (fd_ >= 0) ::close(fd_);
  }
  void close_now() {
    ::close(fd_);
    fd_ = -1;
  }

  void write(ChannelId ch, CtaphidCommand cmd, ByteView payload) {
    for (const auto& r : encode_message(ch, uint8_t(cmd), payload)) {
      REQUIRE(::send(fd_, r.data(), r.size(), 0) == ssize_t(r.size()));
    }
  }

  struct Message {
    uint8_t command = 0;
    Bytes payload;
  };
  // Reads one whole message for `ch`, counting (and skipping) keepalives.
  std::optional<Message> read(ChannelId ch, Millis timeout, int* keepalives = nullptr) {
    auto deadline = Clock::now() + timeout;
    std::optional<Message> current;
    size_t expected = 0;
    for (;;) {
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, int(left)) <= 0) continue;
      Report r{};
      if (::recv(fd_, r.data(), r.size(), 0) != ssize_t(r.size())) return std::nullopt;
      auto packet = parse_packet(r);
      if (auto* init = std::get_if<InitPacket>(&packet)) {
        if (init->channel != ch) continue;
        if (init->command == uint8_t(CtaphidCommand::keepalive)) {
          if (keepalives) ++*keepalives;
          continue;
        }
        current = Message{init->command, {}};
        expected = init->message_length;
        current->payload.assign(init->data.begin(), init->data.begin() + std::min<size_t>(expected, 57));
      } else {
        auto& cont = std::get<ContinuationPacket>(packet);
        if (!current || cont.channel != ch) continue;
        current->payload.insert(current->payload.end(), cont.data.begin(),
                                cont.data.begin() + std::min<size_t>(expected - current->payload.size(), 59));
      }
      if (current && current->payload.size() == expected) return current;
    }
  }

  ChannelId init() {
    Bytes nonce = crypto::random_bytes(8);
    write(kBroadcastChannel, CtaphidCommand::init, nonce);
    auto m = read(kBroadcastChannel, 2s);
    REQUIRE(m.has_value());
    REQUIRE(m->payload.size() == 17);
    REQUIRE(Bytes(m->payload.begin(), m->payload.begin() + 8) == nonce);
    return (ChannelId(m->payload[8]) << 24) | (ChannelId(m->payload[9]) << 16) |
           (ChannelId(m->payload[10]) << 8) | m->payload[11];
  }

  Bytes cbor(ChannelId ch, ByteView request, Millis timeout = 5s, int* keepalives = nullptr) {
    write(ch, CtaphidCommand::cbor, request);
    auto m = read(ch, timeout, keepalives);
    REQUIRE(m.has_value());
    REQUIRE(m->command == uint8_t(CtaphidCommand::cbor));
    return m->payload;
  }

 private:
  int fd_;
};

// The bridge on its own thread, over one end of a socketpair.
struct Rig {
  explicit Rig(Millis phone_delay = 0ms) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0);
    device = SocketHidDevice::adopt(fds[0]);
    REQUIRE(device->open().ok());
    host = std::make_unique<Host>(fds[1]);
    backend = FakePhoneBackend::with_software_authenticator(phone_delay);
    bridge = std::make_unique<Bridge>(*device, *backend);
    thread = std::thread([this] { status = bridge->run(); });
  }
  ~Rig() {
    bridge->stop();
    thread.join();
  }
  std::unique_ptr<SocketHidDevice> device;
  std::unique_ptr<Host> host;
  std::unique_ptr<FakePhoneBackend> backend;
  std::unique_ptr<Bridge> bridge;
  std::thread thread;
  Status status;
};

Bytes ctap_request(CtapCommand cmd, const cbor::Map& params) {
  Bytes out{uint8_t(cmd)};
  auto body = cbor::encode(cbor::Value(params));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

cbor::Map ok_body(const Bytes& response) {
  REQUIRE_FALSE(response.empty());
  REQUIRE(int(response[0]) == 0);
  auto v = cbor::decode(ByteView(response).subspan(1));
  REQUIRE(v.ok());
  return v->as_map();
}

cbor::Map make_credential_request(const Bytes& cdh, cbor::Array exclude = {}) {
  cbor::Map p{{1, cdh},
              {2, cbor::Map{{"id", "example.com"}}},
              {3, cbor::Map{{"id", Bytes{9, 9, 9}}, {"name", "alice"}}},
              {4, cbor::Array{cbor::Map{{"alg", -7}, {"type", "public-key"}}}},
              {7, cbor::Map{{"uv", true}}}};
  if (!exclude.empty()) p.set(5, std::move(exclude));
  return p;
}

template <class F>
bool eventually(F f, Millis within = 3s) {
  auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

}  // namespace

TEST_CASE("makeCredential then getAssertion through the bridge verify with the new public key") {
  Rig rig;
  ChannelId ch = rig.host->init();
  auto info = ok_body(rig.host->cbor(ch, Bytes{0x04}));
  CHECK(info.find(6) == nullptr);
  CHECK(rig.backend->starts() == 0);  // getInfo never reaches the phone

  Bytes cdh = crypto::random_bytes(32);
  auto made = ok_body(rig.host->cbor(ch, ctap_request(CtapCommand::make_credential, make_credential_request(cdh))));
  CHECK(made.find(1)->as_text() == "none");
  const Bytes& auth_data = made.find(2)->as_bytes();
  REQUIRE(auth_data.size() > 55);
  auto rp_hash = crypto::sha256(as_bytes("example.com"));
  CHECK(Bytes(auth_data.begin(), auth_data.begin() + 32) == Bytes(rp_hash.begin(), rp_hash.end()));
  CHECK((auth_data[32] & 0x45) == 0x45);  // UP, UV, AT
  size_t id_len = (size_t(auth_data[53]) << 8) | auth_data[54];
  Bytes cred_id(auth_data.begin() + 55, auth_data.begin() + 55 + id_len);
  auto cose = cbor::decode(ByteView(auth_data).subspan(55 + id_len));
  REQUIRE(cose.ok());
  auto pub = crypto::P256PublicKey::from_coordinates(cose->as_map().find(-2)->as_bytes(),
                                                     cose->as_map().find(-3)->as_bytes());
  REQUIRE(pub.ok());

  Bytes cdh2 = crypto::random_bytes(32);
  cbor::Map ga{{1, "example.com"},
               {2, cdh2},
               {3, cbor::Array{cbor::Map{{"id", cred_id}, {"type", "public-key"}, {"transports", cbor::Array{"usb"}}}}}};
  auto asserted = ok_body(rig.host->cbor(ch, ctap_request(CtapCommand::get_assertion, ga)));
  const Bytes& ad = asserted.find(2)->as_bytes();
  const Bytes& sig = asserted.find(3)->as_bytes();
  CHECK(pub->verify_es256(concat(ad, cdh2), sig));
  Bytes tampered = cdh2;
  tampered[0] ^= 1;
  CHECK_FALSE(pub->verify_es256(concat(ad, tampered), sig));
  CHECK(rig.backend->starts() == 2);
  // What reached the phone had no transports.
  auto last = cbor::decode(ByteView(*rig.backend->last_request()).subspan(1));
  REQUIRE(last.ok());
  CHECK(last->as_map().find(3)->as_array()[0].as_map().find("transports"sv) == nullptr);
}

TEST_CASE("CANCEL mid-transaction: KEEPALIVE_CANCEL at once, the phone is cancelled, the bridge keeps serving") {
  Rig rig(10s);  // the phone would take 10 s
  ChannelId ch = rig.host->init();
  rig.host->write(ch, CtaphidCommand::cbor, ctap_request(CtapCommand::make_credential, make_credential_request(Bytes(32, 1))));
  // Wait until the bridge is clearly waiting for the phone (keepalives flowing).
  int keepalives = 0;
  CHECK_FALSE(rig.host->read(ch, 350ms, &keepalives).has_value());
  CHECK(keepalives >= 2);
  CHECK(rig.backend->starts() == 1);
  auto before = Clock::now();
  rig.host->write(ch, CtaphidCommand::cancel, {});
  auto m = rig.host->read(ch, 2s);
  REQUIRE(m.has_value());
  CHECK(m->command == uint8_t(CtaphidCommand::cbor));
  CHECK(m->payload == Bytes{0x2d});
  CHECK(Clock::now() - before < 1s);
  CHECK(eventually([&] { return rig.backend->cancels() >= 1; }));
  CHECK(rig.backend->answers() == 0);
  // Still serving.
  CHECK(ok_body(rig.host->cbor(ch, Bytes{0x04})).find(1) != nullptr);
}

TEST_CASE("keepalives arrive about every 100 ms while the phone works") {
  Rig rig(700ms);
  ChannelId ch = rig.host->init();
  int keepalives = 0;
  auto response = rig.host->cbor(ch, ctap_request(CtapCommand::make_credential, make_credential_request(Bytes(32, 2))), 5s,
                                 &keepalives);
  CHECK(int(response[0]) == 0);
  // 700 ms at one per 100 ms (the first at once): about 7–8. Generous bounds for a busy CI.
  CHECK(keepalives >= 3);
  CHECK(keepalives <= 12);
}

TEST_CASE("the host closing the device mid-transaction cancels the phone") {
  Rig rig(10s);
  ChannelId ch = rig.host->init();
  rig.host->write(ch, CtaphidCommand::cbor, ctap_request(CtapCommand::make_credential, make_credential_request(Bytes(32, 3))));
  CHECK(eventually([&] { return rig.backend->starts() == 1; }));
  rig.host->close_now();
  CHECK(eventually([&] { return rig.backend->cancels() >= 1; }));
  CHECK(eventually([&] { return rig.bridge->stats().host_closes == 1; }));
}

TEST_CASE("a second program's requests are refused as busy while the phone works, then served") {
  Rig rig(600ms);
  ChannelId a = rig.host->init();
  ChannelId b = rig.host->init();  // INIT works while idle and while busy
  rig.host->write(a, CtaphidCommand::cbor, ctap_request(CtapCommand::make_credential, make_credential_request(Bytes(32, 4))));
  CHECK(eventually([&] { return rig.backend->starts() == 1; }));
  ChannelId c = rig.host->init();
  CHECK(c != a);
  rig.host->write(b, CtaphidCommand::cbor, Bytes{0x04});
  auto busy = rig.host->read(b, 2s);
  REQUIRE(busy.has_value());
  CHECK(busy->command == uint8_t(CtaphidCommand::error));
  CHECK(busy->payload == Bytes{uint8_t(CtaphidError::channel_busy)});
  auto done = rig.host->read(a, 5s);
  REQUIRE(done.has_value());
  CHECK(done->command == uint8_t(CtaphidCommand::cbor));
  CHECK(int(done->payload[0]) == 0);
  CHECK(ok_body(rig.host->cbor(b, Bytes{0x04})).find(1) != nullptr);
}
