#include "hybrid/replay.h"

#include "cbor/codec.h"
#include "crypto/p256.h"
#include "hybrid/advert.h"
#include "hybrid/crypter.h"
#include "hybrid/derive.h"
#include "hybrid/domains.h"
#include "hybrid/framing.h"
#include "hybrid/linking.h"
#include "hybrid/noise.h"
#include "hybrid/post_handshake.h"
#include "qr/payload.h"

namespace hybrid {

using crypto::P256KeyPair;
using crypto::P256PublicKey;
using json = nlohmann::json;

const ReplayStep* ReplayReport::failed_step() const {
  for (const auto& s : steps)
    if (!s.ok) return &s;
  return nullptr;
}

namespace {

Result<Bytes> hex_member(const json& j, const char* name, bool required) {
  if (!j.contains(name) || j.at(name).is_null()) {
    if (required) return make_error(std::string("the transcript lacks \"") + name + "\"");
    return Bytes{};
  }
  if (!j.at(name).is_string()) return make_error(std::string("\"") + name + "\" must be a hex string");
  auto b = hex_decode(j.at(name).get<std::string>());
  if (!b) return b.error().with_context(std::string("\"") + name + "\"");
  return b;
}

}  // namespace

Result<Transcript> parse_transcript(const json& j) {
  if (!j.is_object()) return make_error("a transcript is a JSON object");
  if (j.value("kind", "transcript") != "transcript") return make_error("the file's kind is not \"transcript\"");
  Transcript t;
  t.flow = j.value("flow", "qr");
  t.description = j.value("description", "");
  if (t.flow != "qr" && t.flow != "linked") return make_error("\"flow\" must be \"qr\" or \"linked\"");
  bool qr = t.flow == "qr";
  if (qr) {
    if (!j.contains("qr_url") || !j.at("qr_url").is_string()) return make_error("the transcript lacks \"qr_url\"");
    t.qr_url = j.at("qr_url").get<std::string>();
    HYBRID_TRY(t.client_static_private, hex_member(j, "client_static_private", true));
  } else {
    HYBRID_TRY(t.link_secret, hex_member(j, "link_secret", true));
    HYBRID_TRY(t.client_nonce, hex_member(j, "client_nonce", true));
    HYBRID_TRY(t.phone_public_key, hex_member(j, "phone_public_key", true));
  }
  HYBRID_TRY(t.client_ephemeral_private, hex_member(j, "client_ephemeral_private", true));
  HYBRID_TRY(t.advert, hex_member(j, "advert", true));
  if (!j.contains("messages") || !j.at("messages").is_array()) return make_error("the transcript lacks \"messages\"");
  for (const auto& m : j.at("messages")) {
    TranscriptMessage tm;
    std::string from = m.value("from", "");
    if (from != "phone" && from != "client") return make_error("each message needs \"from\": \"phone\" or \"client\"");
    tm.from_phone = from == "phone";
    if (m.contains("bytes")) {
      HYBRID_TRY(auto b, hex_member(m, "bytes", true));
      tm.bytes = std::move(b);
    } else if (tm.from_phone) {
      return make_error("every phone message needs its \"bytes\"");
    }
    t.messages.push_back(std::move(tm));
  }
  if (j.contains("expect")) t.expect = j.at("expect");
  return t;
}

json transcript_to_json(const Transcript& t) {
  json j;
  j["kind"] = "transcript";
  j["description"] = t.description;
  j["flow"] = t.flow;
  if (t.flow == "qr") {
    j["qr_url"] = t.qr_url;
    j["client_static_private"] = hex_encode(t.client_static_private);
  } else {
    j["link_secret"] = hex_encode(t.link_secret);
    j["client_nonce"] = hex_encode(t.client_nonce);
    j["phone_public_key"] = hex_encode(t.phone_public_key);
  }
  j["client_ephemeral_private"] = hex_encode(t.client_ephemeral_private);
  j["advert"] = hex_encode(t.advert);
  j["messages"] = json::array();
  for (const auto& m : t.messages) {
    json mj;
    mj["from"] = m.from_phone ? "phone" : "client";
    if (m.bytes) mj["bytes"] = hex_encode(*m.bytes);
    j["messages"].push_back(mj);
  }
  j["expect"] = t.expect;
  return j;
}

namespace {

class Replayer {
 public:
  explicit Replayer(const Transcript& t) : t_(t) {}

  ReplayReport run() {
    if (step_keys() && step_advert() && step_handshake()) step_channel();
    check_expectations();
    return std::move(report_);
  }

 private:
  void ok(std::string name, std::string detail) { report_.steps.push_back({std::move(name), std::move(detail), true}); }
  bool fail(std::string name, std::string detail) {
    report_.steps.push_back({std::move(name), std::move(detail), false});
    report_.ok = false;
    return false;
  }
  void record(const std::string& key, const std::string& hex) { derived_[key] = hex; }

  bool step_keys() {
    auto eph = P256KeyPair::from_private_scalar(t_.client_ephemeral_private);
    if (!eph) return fail("client ephemeral key", eph.error().message);
    ephemeral_ = std::move(eph).value();
    if (t_.flow == "qr") {
      auto payload = qr::parse_url(t_.qr_url);
      if (!payload) return fail("QR code", payload.error().message);
      ok("QR code", std::to_string(qr::encode_cbor(*payload).size()) + "-byte CBOR map, request type " +
                        std::string(qr::request_type_hint(payload->request_type())));
      auto identity = P256KeyPair::from_private_scalar(t_.client_static_private);
      if (!identity) return fail("client static key", identity.error().message);
      if (!(identity->public_key() == payload->identity_key)) {
        return fail("client static key", "the static private key does not belong to the QR code's public key");
      }
      ok("client static key", "matches the QR code's public key");
      identity_ = std::move(identity).value();
      secret_ = to_bytes(payload->secret);
      auto tid = derive_tunnel_id(payload->secret);
      record("tunnel_id", tid.hex());
      ok("tunnel ID", tid.hex_upper());
      eid_key_ = derive_eid_key(secret_);
    } else {
      auto key = P256PublicKey::parse(t_.phone_public_key);
      if (!key) return fail("phone public key", key.error().message);
      phone_key_ = std::move(key).value();
      secret_ = t_.link_secret;
      eid_key_ = derive_eid_key(secret_, t_.client_nonce);
    }
    record("eid_key", hex_encode(eid_key_.view()));
    ok("EID key", hex_encode(eid_key_.view()));
    return true;
  }

  bool step_advert() {
    auto plaintext = trial_decrypt_advert(eid_key_, t_.advert);
    if (!plaintext) {
      return fail("advert", "the " + std::to_string(t_.advert.size()) +
                                "-byte advert does not decrypt with this EID key (tag mismatch, wrong length, or "
                                "reserved byte set): it belongs to another QR code or transaction");
    }
    plaintext_ = *plaintext;
    record("advert_plaintext", hex_encode(plaintext_));
    std::string detail = "plaintext " + hex_encode(plaintext_);
    if (t_.flow == "qr") {
      auto contents = AdvertContents::parse(plaintext_);
      if (!contents) return fail("advert", contents.error().message);
      auto domain = tunnel_domain(contents->domain_id);
      detail += "; routing ID " + contents->routing_id.hex_upper() + ", tunnel server " +
                (domain ? *domain : "?") + " (" + std::to_string(contents->domain_id) + ")";
      record("routing_id", contents->routing_id.hex());
    }
    ok("advert", detail);
    auto psk = derive_psk(secret_, plaintext_);
    psk_ = psk;
    record("psk", hex_encode(psk.view()));
    ok("PSK", hex_encode(psk.view()));
    return true;
  }

  bool step_handshake() {
    auto init = t_.flow == "qr" ? HandshakeInitiator::for_qr(psk_, *identity_, *ephemeral_)
                                : HandshakeInitiator::for_linked(psk_, *phone_key_, *ephemeral_);
    size_t i = 0;
    // The first client message is message 1; check it when the transcript has it.
    while (i < t_.messages.size() && !t_.messages[i].from_phone) {
      if (t_.messages[i].bytes && *t_.messages[i].bytes != init.message1()) {
        return fail("handshake message 1",
                    "our message 1 differs from the recorded one: the keys in the transcript are not the ones used");
      }
      ++i;
    }
    ok("handshake message 1", hex_encode(init.message1()));
    // Linked flow: a one-byte 0x00 connect signal may come first.
    while (i < t_.messages.size() && t_.messages[i].from_phone && t_.flow == "linked" &&
           t_.messages[i].bytes->size() == 1 && (*t_.messages[i].bytes)[0] == 0) {
      ok("connect signal", "00");
      ++i;
    }
    if (i >= t_.messages.size()) return fail("handshake message 2", "the transcript has no reply from the phone");
    auto result = init.process_message2(*t_.messages[i].bytes);
    if (!result) return fail("handshake message 2", result.error().message);
    next_ = i + 1;
    hash_ = result->handshake_hash;
    record("handshake_hash", hex_encode(result->handshake_hash));
    record("k1", hex_encode(result->keys.client_to_phone.view()));
    record("k2", hex_encode(result->keys.phone_to_client.view()));
    ok("handshake", "hash " + hex_encode(result->handshake_hash));
    ok("traffic keys", "k1 (client→phone) " + hex_encode(result->keys.client_to_phone.view()) +
                           ", k2 (phone→client) " + hex_encode(result->keys.phone_to_client.view()));
    client_reader_.emplace(result->keys, Crypter::Role::client);
    phone_reader_.emplace(result->keys.client_to_phone, result->keys.phone_to_client);
    client_reader_->accept_old_construction_on_first_message(true);
    return true;
  }

  void step_channel() {
    int phone_index = 0, client_index = 0;
    int revision = 1;
    for (size_t i = next_; i < t_.messages.size(); ++i) {
      const auto& m = t_.messages[i];
      if (!m.from_phone) {
        ++client_index;
        std::string name = "client message " + std::to_string(client_index);
        if (!m.bytes) continue;
        auto pt = phone_reader_->decrypt(*m.bytes);
        if (!pt) {
          fail(name, pt.error().message);
          return;
        }
        report_.client_plaintexts.push_back(*pt);
        ok(name, describe_frame(*pt, revision));
        continue;
      }
      ++phone_index;
      std::string name = "phone message " + std::to_string(phone_index);
      auto pt = client_reader_->decrypt(*m.bytes);
      if (!pt) {
        fail(name, pt.error().message + " (" + std::to_string(m.bytes->size()) + " bytes)");
        return;
      }
      report_.phone_plaintexts.push_back(*pt);
      if (phone_index == 1) {
        auto phm = parse_post_handshake(*pt);
        if (!phm) {
          fail(name + " (post-handshake)", phm.error().message);
          return;
        }
        revision = phm->revision;
        std::string features;
        for (const auto& f : phm->features) features += (features.empty() ? "" : ",") + f;
        std::string info = phm->get_info ? describe_cbor(*phm->get_info) : "none";
        ok(name + " (post-handshake)", "revision " + std::to_string(phm->revision) + ", features [" + features +
                                           "], getInfo " + info +
                                           (client_reader_->uses_old_construction() ? ", 2021 crypter" : ""));
        continue;
      }
      if (revision == 0) {
        ok(name + " (CTAP, revision 0)", describe_ctap(*pt));
        continue;
      }
      auto frame = parse_frame(*pt);
      if (!frame) {
        fail(name, frame.error().message);
        return;
      }
      if (frame->type == MessageType::update) {
        auto linking = parse_update_payload(frame->payload);
        if (!linking) {
          fail(name + " (update)", linking.error().message);
          return;
        }
        if (!linking->has_value()) {
          ok(name + " (update)", "padding only, no linking information (" + std::to_string(pt->size()) + " bytes)");
          continue;
        }
        auto info = parse_linking_map(**linking);
        if (!info) {
          fail(name + " (update)", info.error().message);
          return;
        }
        bool verified = identity_ && verify_linking_signature(*info, *identity_, hash_);
        if (!verified) {
          fail(name + " (update)", "linking information from \"" + info->name + "\" has a signature that does not verify");
          return;
        }
        ok(name + " (update)", "linking information from \"" + info->name + "\", signature verified");
        continue;
      }
      ok(name + " (" + std::string(message_type_name(frame->type)) + ")", describe_frame(*pt, revision));
    }
  }

  static std::string describe_cbor(ByteView b) {
    auto v = cbor::decode(b);
    if (!v) return hex_encode(b) + " (not canonical CBOR: " + v.error().message + ")";
    return cbor::to_diagnostic(*v, 48);
  }
  static std::string describe_ctap(ByteView b) {
    if (b.empty()) return "empty";
    std::string out = "status/command 0x" + hex_encode(b.first(1));
    if (b.size() > 1) out += ", " + describe_cbor(b.subspan(1));
    return out;
  }
  static std::string describe_frame(ByteView pt, int revision) {
    if (revision == 0) return describe_ctap(pt);
    auto f = parse_frame(pt);
    if (!f) return f.error().message;
    if (f->type == MessageType::shutdown) return "shutdown";
    if (f->type == MessageType::ctap) return describe_ctap(f->payload);
    return std::string(message_type_name(f->type)) + " " + hex_encode(f->payload);
  }

  void check_expectations() {
    if (!t_.expect.is_object()) return;
    for (const auto& [key, value] : t_.expect.items()) {
      if (key == "plaintexts") {
        std::vector<std::string> want = value.get<std::vector<std::string>>();
        bool same = want.size() == report_.phone_plaintexts.size();
        for (size_t i = 0; same && i < want.size(); ++i) same = hex_decode(want[i]).value() == report_.phone_plaintexts[i];
        if (same) ok("expected plaintexts", std::to_string(want.size()) + " phone messages as expected");
        else fail("expected plaintexts", "the decrypted phone messages differ from the transcript's \"expect\"");
        continue;
      }
      auto got = derived_.find(key);
      std::string want = value.is_string() ? value.get<std::string>() : value.dump();
      std::string want_lower = want;
      for (auto& c : want_lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (got == derived_.end()) {
        fail("expected " + key, "the replay did not get far enough to compute it");
      } else if (got->second != want_lower) {
        fail("expected " + key, "computed " + got->second + ", transcript expects " + want);
      } else {
        ok("expected " + key, "matches");
      }
    }
  }

  const Transcript& t_;
  ReplayReport report_;
  std::map<std::string, std::string> derived_;
  std::optional<P256KeyPair> identity_, ephemeral_;
  std::optional<P256PublicKey> phone_key_;
  Bytes secret_;
  SecretBytes eid_key_, psk_;
  AdvertPlaintext plaintext_{};
  HandshakeHash hash_{};
  size_t next_ = 0;
  std::optional<Crypter> client_reader_, phone_reader_;
};

}  // namespace

ReplayReport replay_transcript(const Transcript& transcript) { return Replayer(transcript).run(); }

}  // namespace hybrid
