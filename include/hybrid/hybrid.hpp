// libhybrid: the public C++ API (link with `pkg-config --libs hybrid`).
//
// Let a program do what `hybrid sign-in`, `hybrid register`, `hybrid phone` and
// `hybrid tunnel serve` do: run a hybrid (caBLE v2) WebAuthn ceremony with a phone and get
// its progress as stage events (the QR code as text and PNG, phone nearby, connected,
// done); run a software authenticator that answers a QR code; run a tunnel-server node.
//
// Only the standard library appears here; the implementation (OpenSSL, libwebsockets,
// sd-bus, …) stays behind each class's private Impl. Semantic versioning: the soname
// (libhybrid.so.0) changes when this API breaks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#define HYBRID_API __attribute__((visibility("default")))

namespace hybrid::api {

// "0.1.0" and the git revision the library was built from.
HYBRID_API std::string version();
HYBRID_API std::string git_revision();

// What every operation returns: ok, or a failure with a message a person can act on.
struct Status {
  // 0 = ok; otherwise one of the `Failure` values below.
  int failure = 0;
  std::string message;
  explicit operator bool() const { return failure == 0; }
};

// Why a ceremony failed (same classes as `hybrid sign-in`'s exit codes, see --help).
enum Failure : int {
  kBluetooth = 1,     // no BlueZ, no adapter, powered off, no permission
  kNoAdvert = 2,      // the phone was not seen nearby in time
  kTunnelStatus = 3,  // the tunnel server refused
  kTls = 4,
  kNetwork = 5,
  kHandshake = 6,
  kPhoneClosed = 7,   // the phone left before answering
  kCancelled = 8,
  kTimeout = 9,
  kLinkGone = 10,     // the linked phone forgot this computer
  kProtocol = 11,
  kInternal = 12,
  kInvalidInput = 13,  // bad options JSON, unknown linked phone, unreadable file
  kCtap = 14,          // the phone answered with an error (e.g. no passkey for this site)
};

enum class Stage {
  qr_ready,          // `qr_url` and `qr_png` are set: show the QR code
  contacting_phone,  // linked phone: asking it over its push channel
  phone_nearby,      // the phone's Bluetooth advert was received
  connected,         // the tunnel is open
  secure_channel,    // the encrypted channel is up
  waiting_for_user,  // the request is on the phone; the person confirms there
  done,
};
HYBRID_API const char* stage_name(Stage stage);

struct StageEvent {
  Stage stage = Stage::qr_ready;
  std::chrono::milliseconds elapsed{0};
  std::string detail;               // human text, never a secret
  std::string qr_url;               // Stage::qr_ready: "FIDO:/…"
  std::vector<std::uint8_t> qr_png;  // Stage::qr_ready: the QR code as a PNG image
};

struct ClientOptions {
  std::string origin;           // "https://example.com": required
  std::string tunnel_override;  // "ws://127.0.0.1:PORT" or "wss://host"; empty = what the phone names
  std::string ca_file;          // PEM CAs for wss:// (empty = system CAs)
  std::string dbus_address;     // BlueZ's bus (empty = $HYBRID_DBUS_ADDRESS or the system bus)
  std::string adapter;          // "hci0" (empty = the first)
  bool power_on = false;        // power the adapter on if it is off
  std::chrono::seconds timeout{120};
  std::chrono::seconds advert_timeout{60};
  std::string link_store;       // linked phones file (empty = the CLI's default)
  bool offer_linking = true;    // let the phone offer to be remembered (QR flow)
  std::string phone;            // sign in through this linked phone, without a QR code
  // Called on the ceremony's thread for each stage, in order. Must not block for long.
  std::function<void(const StageEvent&)> on_stage;
};

struct CeremonyResult {
  Status status;
  // PublicKeyCredential.toJSON() (WebAuthn Level 3): what a browser hands to the RP.
  std::string credential_json;
  std::string linked_phone;  // set when the phone was linked during this ceremony
};

// One WebAuthn ceremony over hybrid. run() blocks (minutes at most: `timeout`); cancel()
// may be called from any thread and makes run() return kCancelled promptly.
class HYBRID_API Ceremony {
 public:
  // `options_json`: PublicKeyCredentialRequestOptionsJSON (sign-in) or
  // PublicKeyCredentialCreationOptionsJSON (registration), as the RP's server sends them,
  // bare or inside {"publicKey": …}.
  static Ceremony sign_in(std::string options_json, ClientOptions options);
  static Ceremony registration(std::string options_json, ClientOptions options);

  Ceremony(Ceremony&&) noexcept;
  Ceremony& operator=(Ceremony&&) noexcept;
  ~Ceremony();

  CeremonyResult run();
  void cancel();

 private:
  struct Impl;
  explicit Ceremony(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct LinkedPhone {
  std::string name;
  std::string tunnel;      // its tunnel domain or override URL
  std::string public_key;  // hex, identifies the phone (not a secret)
  std::int64_t linked_at = 0;  // unix seconds
};
// The phones remembered in `link_store` (empty = the default file).
HYBRID_API Status linked_phones(const std::string& link_store, std::vector<LinkedPhone>& out);
HYBRID_API Status forget_linked_phone(const std::string& link_store, const std::string& name);

struct AuthenticatorOptions {
  std::string tunnel;     // tunnel server base URL: "ws://127.0.0.1:PORT" or "wss://host"; required
  std::string ca_file;
  std::string store;      // passkey store file; required
  std::string identity;   // identity file (empty = <store>.identity.json)
  std::string name = "Software phone";
  std::string kind = "synced";  // synced | device-bound
  std::uint16_t domain_id = 0;
  bool offer_linking = false;
  std::string dbus_address;
  std::string adapter;
  std::chrono::seconds timeout{120};
};

struct AuthenticatorResult {
  Status status;
  std::string command;  // "makeCredential" / "getAssertion"
  int ctap_status = 0;  // 0 = the request succeeded
};

// A software authenticator (what `hybrid phone` is): answers one QR code at a time, every
// request approved. Passkeys are kept in `store`.
class HYBRID_API Authenticator {
 public:
  static Authenticator open(AuthenticatorOptions options, Status& status);
  Authenticator(Authenticator&&) noexcept;
  Authenticator& operator=(Authenticator&&) noexcept;
  ~Authenticator();

  // Serves one transaction from a scanned QR code's text ("FIDO:/…"). Blocks.
  AuthenticatorResult serve_qr(const std::string& qr_url);
  void cancel();  // any thread

 private:
  struct Impl;
  explicit Authenticator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct TunnelNodeOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 picks a free port
  std::string tls_cert_file, tls_key_file;  // both empty: plain ws://
  std::string routing_id;  // 6 hex digits (empty = random)
};

// A tunnel-server node (what `hybrid tunnel serve` is), served on a background thread.
class HYBRID_API TunnelNode {
 public:
  static TunnelNode start(TunnelNodeOptions options, Status& status);
  TunnelNode(TunnelNode&&) noexcept;
  TunnelNode& operator=(TunnelNode&&) noexcept;
  ~TunnelNode();  // stops it (closing every tunnel) and waits

  std::uint16_t port() const;
  std::string url() const;  // "ws://127.0.0.1:PORT"
  void stop();

 private:
  struct Impl;
  explicit TunnelNode(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hybrid::api
