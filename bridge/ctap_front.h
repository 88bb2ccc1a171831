// The CTAP-level policy between a USB-style client (Firefox, libfido2, python-fido2) and
// a phone reached over hybrid. Sans-I/O: it is fed requests, phone answers, cancels and
// the time, and says what to answer and whether to start or cancel a phone transaction.
//
// Why it exists: a phone is not a USB security key. It is unreachable until a QR code is
// scanned, it serves one command per connection, and clients written for USB keys probe
// and retry in ways that would each cost the user a QR scan. So:
//  * authenticatorGetInfo is answered here (FIDO_2_0/FIDO_2_1, rk/up/uv, no PIN protocols,
//    maxCredentialCountInList/maxCredentialIdLength so clients do not batch in ones);
//  * `transports` is stripped from allowList/excludeList descriptors before forwarding
//    (Firefox tags them "usb"; phones then find no matching passkey);
//  * silent `up=false` getAssertion pre-flight probes never reach the phone (see
//    ProbeAnswer below for what they get instead, and docs/bridge.md for why);
//  * one phone assertion is kept for a few seconds to answer the client's immediate
//    second, directed getAssertion for the same ceremony without a second QR scan;
//  * CANCEL ends the transaction with CTAP2_ERR_KEEPALIVE_CANCEL and closes the tunnel.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "bridge/ctaphid.h"
#include "bridge/phone_backend.h"
#include "cbor/value.h"
#include "ctap/commands.h"

namespace hybrid::bridge {

// The ctap layer's command bytes and status codes, under the names the bridge uses.
using CtapCommand = ctap::Command;
using CtapStatus = ctap::StatusCode;

// What a silent getAssertion (options.up = false) with an allowList gets.
enum class ProbeAnswer {
  // A pre-flight "yes" naming the first credential of the list: authData with UP=UV=0
  // and an EMPTY signature (so nothing can mistake it for a real assertion). The list is
  // remembered for a few seconds and the client's real request that follows is sent to
  // the phone with the whole list again. Needed for Firefox, which otherwise answers a
  // "no" by collecting a touch and failing the sign-in with NotAllowedError.
  claim_first_credential,
  // CTAP2_ERR_NO_CREDENTIALS for every probe (what a key that holds nothing says).
  no_credentials,
};

struct CtapFrontOptions {
  Millis phone_timeout{std::chrono::seconds(120)};
  Millis assertion_reuse_window{std::chrono::seconds(5)};
  Millis probe_memory_window{std::chrono::seconds(10)};
  ProbeAnswer probe_answer = ProbeAnswer::claim_first_credential;
  // Advertised in getInfo. 64 descriptors of typical size fit CTAPHID's 7609 bytes;
  // 1023 is WebAuthn's upper bound for a credential ID, so clients filter nothing out.
  uint64_t max_credential_count_in_list = 64;
  uint64_t max_credential_id_length = 1023;
};

// What the caller must do after each input. Any combination may be set.
struct FrontAction {
  std::optional<Bytes> respond;      // status ‖ CBOR: the answer to the pending request
  std::optional<Bytes> start_phone;  // command ‖ CBOR: start a phone transaction with it
  bool cancel_phone = false;         // cancel the phone transaction in progress
};

struct FrontStats {
  uint64_t requests = 0;
  uint64_t answered_locally = 0;
  uint64_t phone_transactions = 0;
  uint64_t probes_answered = 0;
  uint64_t transports_stripped = 0;  // descriptors that lost a `transports` member
  uint64_t assertions_reused = 0;
  uint64_t cancels = 0;
  uint64_t timeouts = 0;
};

class CtapFront {
 public:
  explicit CtapFront(CtapFrontOptions options = {});

  // A complete CTAP request (command ‖ CBOR) from the client. Only one is in flight at a
  // time (CTAPHID guarantees it).
  FrontAction on_request(ByteView request, TimePoint now);
  // The phone answered the request from the last start_phone.
  FrontAction on_phone_result(const PhoneResponse& response, TimePoint now);
  // The client sent CTAPHID_CANCEL for the request in flight.
  FrontAction on_cancel(TimePoint now);
  // The request in flight vanished without needing an answer (channel resynchronised,
  // device closed).
  FrontAction on_abort();
  FrontAction on_timer(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  bool waiting() const { return waiting_ != Waiting::nothing; }
  const FrontStats& stats() const { return stats_; }

  // The getInfo response this front answers with (status byte included).
  Bytes get_info_response() const;

 private:
  enum class Waiting { nothing, phone, selection };

  FrontAction answer(Bytes response);
  FrontAction answer_status(CtapStatus status);
  FrontAction handle_get_assertion(const cbor::Map& params, TimePoint now);
  FrontAction handle_make_credential(const cbor::Map& params, TimePoint now);
  FrontAction forward(uint8_t command, const cbor::Map& params, TimePoint now);
  // Replaces a descriptor list by its remembered probe list when the probes covered it.
  std::optional<cbor::Array> expand_from_probes(const std::string& rp_id, const cbor::Array& list,
                                               TimePoint now);

  struct ProbeMemory {
    std::string rp_id;
    cbor::Array descriptors;
    TimePoint expires{};
  };
  struct CachedAssertion {
    std::string rp_id;
    Bytes client_data_hash;
    Bytes credential_id;
    bool user_verified = false;
    Bytes response;  // status ‖ CBOR, as it was sent to the client
    TimePoint expires{};
  };
  struct PendingAssertion {  // what a forwarded getAssertion asked, to cache its answer
    std::string rp_id;
    Bytes client_data_hash;
    std::optional<Bytes> single_allowed_id;
  };

  CtapFrontOptions options_;
  Waiting waiting_ = Waiting::nothing;
  TimePoint deadline_{};
  std::optional<PendingAssertion> pending_assertion_;
  std::optional<ProbeMemory> probes_;
  std::optional<CachedAssertion> cached_;
  FrontStats stats_;
};

// Helpers exposed for tests and the fuzzer.
// A descriptor list with every `transports` member removed; nullopt when an entry is not
// a map. `stripped` counts the entries that had one.
std::optional<cbor::Array> strip_transports(const cbor::Array& descriptors, size_t* stripped);

}  // namespace hybrid::bridge
