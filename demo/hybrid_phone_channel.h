// The kiosk's real PhoneChannel: one roles::ClientTransaction per QR code, over a BlueZ
// radio (the system's Bluetooth, or the virtual air's private bus) and the tunnel server.
#pragma once

#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "ble/radio.h"
#include "demo/phone_channel.h"
#include "roles/client_transaction.h"

namespace hybrid::demo {

struct HybridChannelOptions {
  std::string tunnel_override;  // "ws://127.0.0.1:PORT"; empty = the domain the phone names
  std::string ca_file;
  // After the phone's advert, how long the rest may take (tunnel, handshake, the visitor
  // confirming on the phone).
  std::chrono::milliseconds after_advert_timeout{90000};
};

class HybridPhoneChannel : public PhoneChannel {
 public:
  // `radio` must outlive the channel; only this channel may use it.
  HybridPhoneChannel(ble::Radio& radio, HybridChannelOptions options);

  Result<ChannelAnswer> exchange(qr::RequestType type, ByteView ctap_request, std::chrono::milliseconds qr_timeout,
                                 const std::function<void(const ChannelProgress&)>& on_progress) override;
  void cancel() override;
  void clear_cancel() override;

 private:
  ble::Radio& radio_;
  HybridChannelOptions options_;
  std::mutex mu_;
  std::stop_source* running_ = nullptr;  // the exchange in progress, for cancel()
  bool cancel_pending_ = false;
};

}  // namespace hybrid::demo
