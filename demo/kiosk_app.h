// A whole kiosk in one object, as `hybrid kiosk` and `hybrid demo` run it: the BlueZ radio,
// the hybrid phone channel, the account database, the relying party, the kiosk's worker
// and its web server.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ble/bluez_radio.h"
#include "webauthn/passkey_policy.h"
#include "demo/account_store.h"
#include "demo/hybrid_phone_channel.h"
#include "demo/kiosk.h"
#include "demo/kiosk_rp.h"
#include "demo/kiosk_server.h"
#include "demo/website_rp.h"

namespace hybrid::demo {

struct KioskAppConfig {
  KioskServerConfig listen;
  std::string tunnel_override;  // ws://127.0.0.1:PORT; empty = the phone's tunnel domain
  std::string ca_file;
  std::string dbus_address;     // empty = $HYBRID_DBUS_ADDRESS, else the system bus
  std::string adapter;
  webauthn::PasskeyPolicy policy;
  std::vector<ctap::Certificate> attestation_roots;  // besides the policy's
  std::string db_path = ":memory:";
  std::string rp_id = "kiosk.hybrid.example";
  std::string rp_name = "Hybrid Kiosk";
  std::string origin;           // default https://<rp_id>
  KioskOptions kiosk;
  bool website = true;          // also serve the website page at http://localhost:PORT/site
};

class KioskApp {
 public:
  static Result<std::unique_ptr<KioskApp>> create(KioskAppConfig config);
  ~KioskApp();  // stops

  void start();  // the kiosk's worker and the web server's thread
  void stop();   // thread-safe (not async-signal-safe): cancels, stops, joins

  std::string url() const { return server_->url(); }
  // http://localhost:PORT/site: the website page (a WebAuthn origin needs a domain, and
  // browsers resolve "localhost" to this machine themselves). Empty without a website.
  std::string site_url() const;
  WebsiteRelyingParty* website() { return website_.get(); }
  Kiosk& kiosk() { return *kiosk_; }
  AccountStore& store() { return *store_; }
  const KioskAppConfig& config() const { return config_; }

 private:
  KioskApp() = default;
  KioskAppConfig config_;
  std::unique_ptr<ble::BluezRadio> radio_;
  std::unique_ptr<HybridPhoneChannel> channel_;
  std::unique_ptr<AccountStore> store_;
  std::unique_ptr<KioskRelyingParty> rp_;
  std::unique_ptr<Kiosk> kiosk_;
  std::unique_ptr<WebsiteRelyingParty> website_;
  std::unique_ptr<KioskServer> server_;
  bool started_ = false;
};

}  // namespace hybrid::demo
