// The Radio on BlueZ's D-Bus API (sd-bus): the client's advert listener (Adapter1
// discovery, Device1.ServiceData) and the phone's advertiser (LEAdvertisingManager1 with an
// exported LEAdvertisement1). Talks to the system bus, or to any bus address, such as the
// private bus of `hybrid virtual-air`.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "ble/radio.h"

namespace hybrid::ble {

struct BluezRadioOptions {
  // D-Bus address of the bus BlueZ is on. Empty: $HYBRID_DBUS_ADDRESS if set, else the
  // system bus (which itself honours $DBUS_SYSTEM_BUS_ADDRESS).
  std::string dbus_address;
  // "hci0" or "/org/bluez/hci0". Empty: the first adapter BlueZ lists (lowest path).
  std::string adapter;
  // Turn a powered-off adapter on (Adapter1.Powered = true) instead of failing.
  bool power_on = false;
  // Bound on every single D-Bus call to BlueZ.
  std::chrono::milliseconds call_timeout{10000};
  // Put 0xFFF9 in the advert's service UUID list as Chromium's and microG's phones do
  // (§5.2; 4 bytes, the advert then fills 28 of the 31 legacy bytes).
  bool advertise_service_uuid = true;
  // The service-data UUID the phone advertises under: 0xFFF9 (FIDO), or 0xFDE2 (Google's,
  // which Chromium also accepts).
  ServiceUuid advertise_uuid = ServiceUuid::fff9;
};

// The environment variable that sets the bus address when the option is empty.
inline constexpr const char* kDbusAddressEnv = "HYBRID_DBUS_ADDRESS";

class BluezRadio : public Radio {
 public:
  explicit BluezRadio(BluezRadioOptions options = {});
  ~BluezRadio() override;
  BluezRadio(const BluezRadio&) = delete;
  BluezRadio& operator=(const BluezRadio&) = delete;

  Status listen(const std::function<bool(const ServiceDataEvent&)>& on_advert,
                std::chrono::milliseconds timeout, std::stop_token stop = {}) override;
  Status start_advertising(ByteView service_data) override;
  void stop_advertising() override;

  // The bus address in use ("" = the system bus).
  const std::string& dbus_address() const { return address_; }
  // False once BlueZ released our advertisement by itself (adapter off, bluetoothd exit).
  bool advertising() const;

 private:
  struct Advertiser;

  BluezRadioOptions options_;
  std::string address_;
  int wake_fd_ = -1;  // written when a listen()'s stop token is triggered
  mutable std::mutex advertiser_mu_;
  std::unique_ptr<Advertiser> advertiser_;
};

}  // namespace hybrid::ble
