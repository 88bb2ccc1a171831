#include "demo/hybrid_phone_channel.h"

#include "base/log.h"

namespace hybrid::demo {
namespace {

constexpr std::string_view kStage = "kiosk";

Error channel_error(ChannelFailure f, std::string message) { return make_error(f, std::move(message)); }

}  // namespace

HybridPhoneChannel::HybridPhoneChannel(ble::Radio& radio, HybridChannelOptions options)
    : radio_(radio), options_(std::move(options)) {}

void HybridPhoneChannel::cancel() {
  std::lock_guard lock(mu_);
  cancel_pending_ = true;
  if (running_) running_->request_stop();
}

void HybridPhoneChannel::clear_cancel() {
  std::lock_guard lock(mu_);
  cancel_pending_ = false;
}

Result<ChannelAnswer> HybridPhoneChannel::exchange(qr::RequestType type, ByteView ctap_request,
                                                   std::chrono::milliseconds qr_timeout,
                                                   const std::function<void(const ChannelProgress&)>& on_progress) {
  if (ctap_request.empty()) return channel_error(ChannelFailure::failed, "empty CTAP request");
  roles::ClientTransactionOptions o;
  o.tunnel_override = options_.tunnel_override;
  o.ca_file = options_.ca_file;
  o.request_type = type;
  o.advert_timeout = qr_timeout;
  o.timeout = qr_timeout + options_.after_advert_timeout;
  o.on_progress = [&](const roles::ClientProgress& p) {
    switch (p.stage) {
      case roles::Stage::qr_shown: on_progress({ChannelStage::qr_shown, p.qr_url}); break;
      case roles::Stage::advert_seen: on_progress({ChannelStage::phone_nearby, ""}); break;
      case roles::Stage::tunnel_connected:
      case roles::Stage::handshake_done: on_progress({ChannelStage::connected, ""}); break;
      case roles::Stage::waiting_for_user: on_progress({ChannelStage::waiting_for_user, ""}); break;
      default: break;
    }
  };
  std::stop_source stop;  // this exchange's own: a cancel() of an earlier one cannot reach it
  {
    std::lock_guard lock(mu_);
    if (cancel_pending_) return channel_error(ChannelFailure::cancelled, "cancelled");
    running_ = &stop;
  }
  auto result = roles::ClientTransaction(radio_, std::move(o)).run(ctap_request[0], ctap_request.subspan(1),
                                                                    stop.get_token());
  {
    std::lock_guard lock(mu_);
    running_ = nullptr;
  }
  if (result.ok()) return ChannelAnswer{result->ctap_status, std::move(result->ctap_body)};
  const Error& e = result.error();
  auto f = roles::failure_of(e);
  if (f == roles::ClientFailure::cancelled) return channel_error(ChannelFailure::cancelled, "cancelled");
  if (f == roles::ClientFailure::no_advert) return channel_error(ChannelFailure::no_phone, e.message);
  log::warn(kStage, "the hybrid transaction failed ({}): {}", f ? roles::failure_name(*f) : "?", e.message);
  return channel_error(ChannelFailure::failed, roles::explain_failure(e));
}

}  // namespace hybrid::demo
