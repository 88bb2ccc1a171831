// `hybrid simulate`: one complete QR-initiated hybrid transaction between a client and a
// software phone in this process, through an in-memory tunnel and an in-memory "air",
// printing each stage. Everything real but the transports: keys, QR code, advert, Noise,
// encrypted channel, linking. Optionally records a transcript for `hybrid debug replay`.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <fstream>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "app/keylog.h"
#include "cbor/codec.h"
#include "crypto/primitives.h"
#include "hybrid/authenticator_session.h"
#include "hybrid/client_session.h"
#include "hybrid/domains.h"
#include "hybrid/replay.h"
#include "qr/render.h"

namespace hybrid::app {
namespace {

struct SimulateArgs {
  bool make_credential = false;
  bool no_qr = false;
  std::string transcript_path;
};

class Narrator {
 public:
  void stage(const char* name, const std::string& what) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    std::printf("[%7.1f ms] %-14s %s\n", ms, name, what.c_str());
    std::fflush(stdout);
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

Bytes minimal_get_info() {
  cbor::Map info{{1, cbor::Array{"FIDO_2_0", "FIDO_2_1"}},
                 {3, Bytes(16, 0)},
                 {4, cbor::Map{{"rk", true}, {"uv", true}}},
                 {9, cbor::Array{"hybrid", "internal"}}};
  return cbor::encode(cbor::Value(info));
}

int run(const SimulateArgs& args) {
  Narrator say;
  Transcript transcript;
  transcript.description = "recorded by `hybrid simulate` (in-memory client and software phone)";

  auto type = args.make_credential ? qr::RequestType::make_credential : qr::RequestType::get_assertion;
  auto client = ClientSession::start_qr(
      {.request_type = type, .offer_linking = true, .now_unix = static_cast<uint64_t>(std::time(nullptr))});
  transcript.qr_url = client.qr_url();
  say.stage("qr", "client made a P-256 identity key and a QR secret; showing the QR code (" +
                      std::to_string(client.qr_url().size() - 6) + " digits)");
  if (!args.no_qr) {
    auto art = qr::render_terminal(client.qr_url());
    if (art) std::printf("%s\n", art->c_str());
  }

  // The phone scans the code.
  auto scanned = qr::parse_url(client.qr_url());
  if (!scanned) {
    std::fprintf(stderr, "the phone could not read the QR code: %s\n", scanned.error().message.c_str());
    return kInternalError;
  }
  say.stage("phone", "scanned the QR code: request type " + std::string(qr::request_type_hint(scanned->request_type())) +
                         ", client supports linking: " + (scanned->supports_linking.value_or(false) ? "yes" : "no"));
  auto phone_identity = crypto::P256KeyPair::generate();
  LinkingOffer offer{&phone_identity, crypto::random_bytes(16), crypto::random_bytes(8),
                     SecretBytes(crypto::random_bytes(32)), "hybrid simulate phone"};
  AuthenticatorConfig config;
  config.get_info = minimal_get_info();
  config.domain_id = 0;
  auto phone = AuthenticatorSession::start_qr(*scanned, config, std::move(offer));

  RoutingId routing{crypto::random_array<3>()};
  say.stage("tunnel", "phone opened " + std::string(kNewTunnelPath) + "<tunnel id> on the in-memory tunnel; routing ID " +
                          routing.hex_upper());
  Advert advert = phone.on_tunnel_ready(routing);
  transcript.advert = Bytes(advert.begin(), advert.end());
  say.stage("ble", "phone advertises 20 bytes of service data under 0xFFF9");

  auto matched = client.on_advert(advert);
  const auto* m = matched.find<AdvertMatched>();
  if (!m) {
    std::fprintf(stderr, "the client did not match the phone's advert\n");
    return kNoAdvert;
  }
  say.stage("ble", "client decrypted the advert: the phone is near; tunnel server " +
                       tunnel_domain(m->domain_id).value_or("?") + ", routing ID " + m->routing_id.hex_upper());

  std::deque<Bytes> to_phone, to_client;
  auto opened = client.on_tunnel_open();
  if (!opened) return kInternalError;
  if (auto line = client.keylog_line()) {
    auto j = nlohmann::json::parse(*line);
    transcript.client_static_private = *hex_decode(j.at("client_static_private").get<std::string>());
    transcript.client_ephemeral_private = *hex_decode(j.at("client_ephemeral_private").get<std::string>());
    append_keylog(*line);
  }
  say.stage("tunnel", "client joined " + std::string(kConnectPath) + "<routing id>/<tunnel id>; sent Noise KNpsk0 message 1 (" +
                          std::to_string(opened->to_send[0].size()) + " bytes)");
  for (auto& b : opened->to_send) to_phone.push_back(b);

  bool ctap_sent = false, done = false;
  while ((!to_phone.empty() || !to_client.empty()) && !done) {
    if (!to_phone.empty()) {
      Bytes msg = std::move(to_phone.front());
      to_phone.pop_front();
      transcript.messages.push_back({false, msg});
      auto r = phone.on_message(msg);
      if (!r) {
        std::fprintf(stderr, "phone: %s\n", r.error().message.c_str());
        return kHandshakeFailed;
      }
      for (const auto& e : r->events) {
        if (std::holds_alternative<HandshakeComplete>(e)) {
          say.stage("handshake", "phone checked message 1 and answered (81 bytes), then sent its getInfo and an Update");
        } else if (const auto* req = std::get_if<CtapRequest>(&e)) {
          say.stage("ctap", "phone received CTAP command 0x" + hex_encode(Bytes{req->command}) + " (" +
                                std::to_string(req->params.size()) + " bytes of CBOR); it holds no passkeys and answers "
                                "CTAP2_ERR_NO_CREDENTIALS (0x2E)");
          auto answer = phone.send_ctap_response(Bytes{0x2e});
          if (answer) r->to_send.insert(r->to_send.end(), answer->to_send.begin(), answer->to_send.end());
        } else if (std::holds_alternative<ClientShutdown>(e)) {
          say.stage("phone", "received the client's Shutdown; transaction over");
          done = true;
        }
      }
      for (auto& b : r->to_send) to_client.push_back(std::move(b));
    }
    if (!to_client.empty()) {
      Bytes msg = std::move(to_client.front());
      to_client.pop_front();
      transcript.messages.push_back({true, msg});
      auto r = client.on_message(msg);
      if (!r) {
        std::fprintf(stderr, "client: %s\n", r.error().message.c_str());
        return kHandshakeFailed;
      }
      for (const auto& e : r->events) {
        if (const auto* h = std::get_if<HandshakeComplete>(&e)) {
          say.stage("handshake", "client verified the reply: handshake hash " + hex_encode(ByteView(h->handshake_hash).first(4)) + "…");
        } else if (const auto* p = std::get_if<PostHandshakeReceived>(&e)) {
          std::string features;
          for (const auto& f : p->message.features) features += (features.empty() ? "" : ", ") + f;
          say.stage("channel", "client received the phone's getInfo (" + std::to_string(p->message.get_info->size()) +
                                   " bytes) and features [" + features + "]");
          if (!ctap_sent) {
            cbor::Map request{{1, "example.com"}, {2, crypto::random_bytes(32)}};
            auto sent = client.send_ctap(0x02, cbor::encode(cbor::Value(request)));
            if (!sent) return kInternalError;
            for (auto& b : sent->to_send) to_phone.push_back(std::move(b));
            ctap_sent = true;
            say.stage("ctap", "client sent authenticatorGetAssertion for example.com, encrypted");
          }
        } else if (const auto* l = std::get_if<LinkingReceived>(&e)) {
          say.stage("linking", "client received linking data from \"" + l->info.name +
                                   "\"; its signature over the handshake verifies");
        } else if (const auto* ig = std::get_if<LinkingIgnored>(&e)) {
          say.stage("linking", "ignored: " + ig->reason);
        } else if (const auto* resp = std::get_if<CtapResponse>(&e)) {
          say.stage("ctap", "client received the phone's answer: status 0x" + hex_encode(Bytes{resp->status}));
          auto bye = client.shutdown();
          if (bye) for (auto& b : bye->to_send) to_phone.push_back(std::move(b));
          say.stage("channel", "client sent an encrypted Shutdown");
        }
      }
    }
  }
  say.stage("done", "transaction complete; session secrets are wiped as the sessions end");

  if (!args.transcript_path.empty()) {
    transcript.expect = {{"tunnel_id", client.tunnel_id().hex()},
                         {"handshake_hash", hex_encode(*client.handshake_hash())}};
    std::ofstream out(args.transcript_path);
    out << transcript_to_json(transcript).dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", args.transcript_path.c_str());
      return kInternalError;
    }
    std::fprintf(stderr, "transcript written to %s (it holds private keys: for debugging only)\n",
                 args.transcript_path.c_str());
  }
  return kOk;
}

CommandRegistration reg("simulate", 80, [](CLI::App& root) {
  auto args = std::make_shared<SimulateArgs>();
  auto* cmd = root.add_subcommand(
      "simulate",
      "Run one QR-initiated hybrid transaction between a client and a software phone inside this\n"
      "process (in-memory tunnel and BLE), printing each stage and the QR code. Real keys, QR\n"
      "code, advert, Noise handshake, encrypted channel and linking; no network or Bluetooth.");
  cmd->add_flag("--make-credential", args->make_credential, "use the makeCredential request type in the QR code");
  cmd->add_flag("--no-qr", args->no_qr, "do not draw the QR code");
  cmd->add_option("--transcript", args->transcript_path,
                  "write the transaction as a transcript (for `hybrid debug replay`; contains private keys)");
  cmd->callback([args] { set_exit_code(run(*args)); });
});

}  // namespace
}  // namespace hybrid::app
