#include "demo/kiosk_app.h"

namespace hybrid::demo {

Result<std::unique_ptr<KioskApp>> KioskApp::create(KioskAppConfig config) {
  std::unique_ptr<KioskApp> app(new KioskApp());
  app->config_ = config;
  ble::BluezRadioOptions radio;
  radio.dbus_address = config.dbus_address;
  radio.adapter = config.adapter;
  app->radio_ = std::make_unique<ble::BluezRadio>(radio);
  app->channel_ = std::make_unique<HybridPhoneChannel>(
      *app->radio_, HybridChannelOptions{.tunnel_override = config.tunnel_override, .ca_file = config.ca_file});
  HYBRID_TRY(app->store_, AccountStore::open(config.db_path));

  KioskRpConfig rp;
  rp.rp.rp_id = config.rp_id;
  rp.rp.rp_name = config.rp_name;
  rp.rp.origins = {config.origin.empty() ? "https://" + config.rp_id : config.origin};
  rp.rp.attestation_roots = config.attestation_roots;
  if (config.website) {
    WebsiteConfig wc;
    wc.policy = config.policy;
    wc.attestation_roots = config.attestation_roots;
    app->website_ = std::make_unique<WebsiteRelyingParty>(std::move(wc), *app->store_);
    config.listen.website = app->website_.get();
  }
  rp.policy = std::move(config.policy);
  app->rp_ = std::make_unique<KioskRelyingParty>(std::move(rp), *app->store_);
  app->kiosk_ = std::make_unique<Kiosk>(*app->rp_, *app->channel_, config.kiosk);
  HYBRID_TRY(app->server_, KioskServer::create(*app->kiosk_, config.listen));
  if (app->website_) app->website_->set_origin("http://localhost:" + std::to_string(app->server_->port()));
  return app;
}

std::string KioskApp::site_url() const {
  if (!website_) return "";
  return website_->origin() + "/site";
}

KioskApp::~KioskApp() { stop(); }

void KioskApp::start() {
  if (started_) return;
  started_ = true;
  kiosk_->start();
  server_->start();
}

void KioskApp::stop() {
  if (server_) server_->stop();
  if (kiosk_) kiosk_->stop();
  if (server_) server_->join();
}

}  // namespace hybrid::demo
