#include "browser/screen_phone.h"

#include <mutex>

#include "base/log.h"
#include "ble/bluez_radio.h"
#include "browser/x_screen.h"
#include "ctap/authenticator.h"
#include "ctap/commands.h"
#include "ctap/credential_store.h"
#include "roles/terminal_approver.h"
#include "qr/payload.h"
#include "qr/scanner.h"
#include "roles/phone_identity.h"
#include "roles/phone_runner.h"

namespace hybrid::browser {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
constexpr std::string_view kStage = "screen-phone";

bool is_fido_qr(const std::string& text) {
  return text.size() > 6 && (text.compare(0, 6, "FIDO:/") == 0 || text.compare(0, 6, "fido:/") == 0);
}

}  // namespace

Result<Approval> approval_from_name(std::string_view name) {
  if (name == "always") return Approval::always;
  if (name == "never") return Approval::never;
  if (name == "ask") return Approval::ask;
  return make_error("--approve must be always, never or ask");
}

struct ScreenPhone::Impl {
  ScreenPhoneOptions options;
  std::unique_ptr<ctap::CredentialStore> store;
  std::unique_ptr<roles::PhoneIdentity> identity;
  std::unique_ptr<ctap::UserApprover> approver;
  std::unique_ptr<ctap::SoftwareAuthenticator> authenticator;
  std::unique_ptr<ble::BluezRadio> radio;
  std::unique_ptr<XScreen> eyes;    // grabs (the phone's thread)
  std::unique_ptr<XScreen> finger;  // presses Return (the presser thread)
  std::atomic<bool> stopping{false};
  std::mutex runner_mu;
  roles::PhoneRunner* runner = nullptr;

  void emit(json j) {
    if (options.on_event) options.on_event(j);
  }

  void serve(const qr::QrPayload& qr, std::atomic<int>& count) {
    const bool sign_in = qr.request_type() != qr::RequestType::make_credential;
    roles::PhoneOptions po;
    po.tunnel_base = options.tunnel_base;
    po.ca_file = options.ca_file;
    po.domain_id = options.domain_id;
    po.timeout = options.transaction_timeout;
    po.on_progress = [](const std::string& s) { log::debug(kStage, "{}", s); };
    std::atomic<bool> press{false};
    po.on_stage = [&](roles::PhoneStage st, int value) {
      switch (st) {
        case roles::PhoneStage::tunnel_joined: emit({{"event", "tunnel_joined"}}); break;
        case roles::PhoneStage::advertising: emit({{"event", "advert_sent"}, {"domain_id", options.domain_id}}); break;
        case roles::PhoneStage::handshake_done: emit({{"event", "handshake_done"}}); break;
        case roles::PhoneStage::ctap_command:
          emit({{"event", "ctap_command"}, {"command", std::string(ctap::command_name(static_cast<uint8_t>(value)))}});
          break;
        case roles::PhoneStage::ctap_status:
          emit({{"event", "ctap_status"},
                {"status", value},
                {"status_name", std::string(ctap::status_name(static_cast<uint8_t>(value)))}});
          if (value == 0) {
            emit({{"event", "credential_returned"}, {"request", sign_in ? "get" : "create"}});
            // Chromium now shows its account picker for a discoverable sign-in and waits.
            if (sign_in) press = true;
          }
          break;
        case roles::PhoneStage::client_shutdown: emit({{"event", "client_shutdown"}}); break;
      }
    };
    roles::PhoneRunner runner(*radio, *authenticator, *identity, po);
    {
      std::lock_guard lock(runner_mu);
      if (stopping) return;
      this->runner = &runner;
    }
    std::atomic<bool> serving{true};
    std::thread presser([&] {
      int pressed = 0;
      while (serving && !stopping) {
        if (press && finger && pressed < 20) {
          if (auto st = finger->press_return(); st.ok()) {
            ++pressed;
            if (pressed == 1) emit({{"event", "account_picker_confirmed"}});
          }
          std::this_thread::sleep_for(milliseconds(700));
          continue;
        }
        std::this_thread::sleep_for(milliseconds(50));
      }
    });
    auto outcome = runner.serve_qr(qr);
    serving = false;
    presser.join();
    {
      std::lock_guard lock(runner_mu);
      this->runner = nullptr;
    }
    ++count;
    if (outcome.ok()) {
      emit({{"event", "transaction_done"},
            {"ok", outcome->status == 0},
            {"command", std::string(ctap::command_name(outcome->command))},
            {"status", outcome->status}});
    } else {
      emit({{"event", "transaction_done"}, {"ok", false}, {"error", outcome.error().message}});
    }
  }

  void run(std::atomic<int>& count) {
    qr::QrScanner scanner;
    std::string last;  // the code answered last: Chromium may still show it for a moment
    while (!stopping) {
      auto image = eyes->grab();
      if (!image.ok()) {
        if (!eyes->alive()) {
          emit({{"event", "error"}, {"message", "the screen is gone (the X server stopped)"}});
          return;
        }
      } else {
        for (const auto& text : scanner.scan(*image)) {
          if (!is_fido_qr(text) || text == last) continue;
          last = text;
          auto qr = qr::parse_url(text);
          if (!qr.ok()) {
            emit({{"event", "qr_unreadable"}, {"message", qr.error().message}});
            continue;
          }
          const bool create = qr->request_type() == qr::RequestType::make_credential;
          emit({{"event", "qr_shown"}, {"request", create ? "create" : "get"}});
          serve(*qr, count);
          break;
        }
      }
      for (auto waited = milliseconds(0); waited < options.scan_interval && !stopping; waited += milliseconds(50)) {
        std::this_thread::sleep_for(milliseconds(50));
      }
    }
  }
};

ScreenPhone::ScreenPhone(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ScreenPhone::~ScreenPhone() { stop(); }

Result<std::unique_ptr<ScreenPhone>> ScreenPhone::create(ScreenPhoneOptions options) {
  auto impl = std::make_unique<Impl>();
  HYBRID_TRY(auto kind, ctap::passkey_kind_from_name(options.kind));
  HYBRID_TRY(auto store, ctap::CredentialStore::open(options.store_path));
  impl->store = std::make_unique<ctap::CredentialStore>(std::move(store));
  HYBRID_TRY(auto identity, roles::PhoneIdentity::load_or_create(options.store_path + ".identity.json", "Screen-reading phone"));
  impl->identity = std::make_unique<roles::PhoneIdentity>(std::move(identity));
  switch (options.approve) {
    case Approval::always: impl->approver = std::make_unique<ctap::AutoApprover>(true, true); break;
    case Approval::never: impl->approver = std::make_unique<ctap::AutoApprover>(false, false); break;
    case Approval::ask: impl->approver = std::make_unique<roles::TerminalApprover>(std::chrono::seconds(60)); break;
  }
  auto config = ctap::AuthenticatorConfig::for_kind(kind);
  impl->authenticator = std::make_unique<ctap::SoftwareAuthenticator>(*impl->store, config, *impl->approver);
  ble::BluezRadioOptions ro;
  ro.dbus_address = options.dbus_address;
  impl->radio = std::make_unique<ble::BluezRadio>(ro);
  HYBRID_TRY(impl->eyes, XScreen::open(options.display));
  HYBRID_TRY(impl->finger, XScreen::open(options.display));
  impl->options = std::move(options);
  return std::unique_ptr<ScreenPhone>(new ScreenPhone(std::move(impl)));
}

void ScreenPhone::start() {
  thread_ = std::thread([this] { impl_->run(transactions_); });
}

void ScreenPhone::stop() {
  impl_->stopping = true;
  {
    std::lock_guard lock(impl_->runner_mu);
    if (impl_->runner) impl_->runner->cancel();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace hybrid::browser
