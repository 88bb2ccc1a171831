// The software authenticator: the phone's CTAP brain. It takes a CTAP2 request (command
// byte ‖ CBOR) and answers status ‖ CBOR, exactly what travels inside a hybrid CTAP frame
// after the 0x01 type byte. It makes discoverable ES256 credentials of one configured
// kind (synced: BE=BS=1, "none" attestation; device-bound: BE=BS=0, "packed"
// attestation, self or with an x5c chain from a per-install CA), keeps them in a
// CredentialStore, and asks a UserApprover for presence and verification.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "ctap/attestation.h"
#include "ctap/commands.h"
#include "ctap/credential_store.h"
#include "ctap/get_assertion.h"
#include "ctap/get_info.h"
#include "ctap/make_credential.h"

namespace hybrid::ctap {

// The AAGUIDs of this project's software phone (listed in webauthn/aaguids.json).
inline constexpr Aaguid kSoftwarePhoneSyncedAaguid = {0x2a, 0xbc, 0x28, 0x06, 0xf6, 0xa3, 0x44, 0xab,
                                                      0xb8, 0xcc, 0xb9, 0x4c, 0x8f, 0x9f, 0x4c, 0xc5};
inline constexpr Aaguid kSoftwarePhoneDeviceBoundAaguid = {0x89, 0x0b, 0xf8, 0xea, 0xf3, 0x0d, 0x4a, 0xb1,
                                                           0xb5, 0xb4, 0xd0, 0x9f, 0xf7, 0x39, 0x66, 0x47};

// The answer to an account picker.
struct AccountChoice {
  enum class Kind { client_chooses, chosen, declined };
  Kind kind = Kind::client_chooses;
  size_t index = 0;
  static AccountChoice let_client_choose() { return {}; }
  static AccountChoice pick(size_t i) { return {Kind::chosen, i}; }
  static AccountChoice decline() { return {Kind::declined, 0}; }
};

// Asks the person holding the phone. Implementations may block (with their own timeout);
// the authenticator treats `false` as "denied or timed out".
class UserApprover {
 public:
  virtual ~UserApprover() = default;
  // User presence: "allow <rp> to use/create a passkey for <user>?" (user may be null
  // when it is not known yet, e.g. a discoverable sign-in).
  virtual bool approve_presence(const RpEntity& rp, const UserEntity* user) = 0;
  // User verification (screen lock, biometrics): implies presence.
  virtual bool verify_user(const RpEntity& rp, const UserEntity* user) = 0;
  // Account picker for a discoverable sign-in with several accounts: one chosen, none
  // (declined), or let the client choose (numberOfCredentials + getNextAssertion).
  virtual AccountChoice select_account(const RpEntity& rp, const std::vector<UserEntity>& accounts) {
    (void)rp;
    (void)accounts;
    return AccountChoice::let_client_choose();
  }
};

// Says yes (or always no) without asking; counts what it was asked. For tests and demos.
class AutoApprover : public UserApprover {
 public:
  explicit AutoApprover(bool presence = true, bool verification = true, std::optional<size_t> account = std::nullopt)
      : presence_(presence), verification_(verification), account_(account) {}
  bool approve_presence(const RpEntity&, const UserEntity*) override {
    ++presence_requests;
    return presence_;
  }
  bool verify_user(const RpEntity&, const UserEntity*) override {
    ++verification_requests;
    return verification_;
  }
  AccountChoice select_account(const RpEntity&, const std::vector<UserEntity>& accounts) override {
    ++selection_requests;
    if (account_ && *account_ < accounts.size()) return AccountChoice::pick(*account_);
    return AccountChoice::let_client_choose();
  }
  int presence_requests = 0;
  int verification_requests = 0;
  int selection_requests = 0;

 private:
  bool presence_, verification_;
  std::optional<size_t> account_;
};

struct AuthenticatorConfig {
  PasskeyKind kind = PasskeyKind::synced;
  Aaguid aaguid = kSoftwarePhoneSyncedAaguid;
  AttestationMode attestation = AttestationMode::none;
  std::string provider_name = "Hybrid Software Phone";
  // Phones unlock for every passkey operation; set to do user verification always.
  bool always_verify_user = false;
  // How long the remaining accounts of a discoverable getAssertion stay available to
  // getNextAssertion (CTAP: 30 s).
  int64_t next_assertion_timeout_ms = 30000;
  // Clocks (tests inject their own): a monotonic one in ms and the wall clock in s.
  InjectedClock monotonic_ms;
  InjectedClock unix_seconds;

  // What each kind looks like on real phones: synced → its AAGUID, "none";
  // device-bound → its AAGUID, packed with x5c.
  static AuthenticatorConfig for_kind(PasskeyKind kind);
};

class SoftwareAuthenticator {
 public:
  // `store` and `approver` must outlive the authenticator.
  SoftwareAuthenticator(CredentialStore& store, AuthenticatorConfig config, UserApprover& approver);
  ~SoftwareAuthenticator();

  // request = command byte ‖ CBOR parameters → status byte ‖ CBOR response (status only
  // on errors). Never throws on any input.
  Bytes process(ByteView request);

  // The getInfo response CBOR without status byte (for the hybrid post-handshake message,
  // docs/protocol.md §9.4): versions FIDO_2_0/FIDO_2_1, extensions [prf], the AAGUID, options
  // rk/up/uv true and plat false, transports [hybrid, internal], no pinUvAuthProtocols.
  Bytes get_info_cbor() const;
  GetInfoResponse get_info() const;

  // Typed entry points (process() decodes and calls these).
  Result<MakeCredentialResponse> make_credential(const MakeCredentialRequest& request);
  Result<GetAssertionResponse> get_assertion(const GetAssertionRequest& request);
  Result<GetAssertionResponse> get_next_assertion();
  Status selection();

  // The per-install attestation CA and batch certificate (created and stored on first
  // use). Relying parties that want to trust this phone's attestation need the root.
  Result<AttestationIdentity> attestation_identity();

  const AuthenticatorConfig& config() const { return config_; }

 private:
  struct PendingAssertions;
  Result<GetAssertionResponse> assert_with(const StoredCredential& credential, const ClientDataHash& cdh,
                                           bool up, bool uv, const std::optional<PrfRequest>& prf);
  int64_t now_ms() const;
  int64_t now_s() const;

  CredentialStore& store_;
  AuthenticatorConfig config_;
  UserApprover& approver_;
  std::unique_ptr<PendingAssertions> pending_;
  std::optional<AttestationIdentity> identity_;
};

}  // namespace hybrid::ctap
