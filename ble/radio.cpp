#include "ble/radio.h"

#include <algorithm>
#include <cctype>

namespace hybrid::ble {

std::string_view uuid_string(ServiceUuid uuid) {
  switch (uuid) {
    case ServiceUuid::fff9: return "0000fff9-0000-1000-8000-00805f9b34fb";
    case ServiceUuid::fde2: return "0000fde2-0000-1000-8000-00805f9b34fb";
  }
  return "";
}

std::string_view uuid_short_name(ServiceUuid uuid) {
  return uuid == ServiceUuid::fff9 ? "fff9" : "fde2";
}

std::optional<ServiceUuid> parse_cable_uuid(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.rfind("0x", 0) == 0) lower.erase(0, 2);
  for (ServiceUuid u : {ServiceUuid::fff9, ServiceUuid::fde2}) {
    if (lower == uuid_string(u) || lower == uuid_short_name(u)) return u;
  }
  return std::nullopt;
}

std::string_view radio_error_name(RadioError e) {
  switch (e) {
    case RadioError::bluez_not_running: return "bluez_not_running";
    case RadioError::no_adapter: return "no_adapter";
    case RadioError::powered_off: return "powered_off";
    case RadioError::rfkill_blocked: return "rfkill_blocked";
    case RadioError::permission_denied: return "permission_denied";
    case RadioError::discovery_busy: return "discovery_busy";
    case RadioError::no_advert_timeout: return "no_advert_timeout";
    case RadioError::cancelled: return "cancelled";
    case RadioError::dbus_failure: return "dbus_failure";
    case RadioError::advertising_rejected: return "advertising_rejected";
  }
  return "unknown";
}

std::optional<RadioError> radio_error_of(const Error& e) { return e.as<RadioError>(); }

Error no_advert_error(std::chrono::milliseconds timeout, size_t cable_adverts_seen) {
  auto ms = timeout.count();
  std::string span = ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
  std::string seen = cable_adverts_seen == 0
                         ? "no caBLE advert was seen at all"
                         : std::to_string(cable_adverts_seen) + " caBLE advert(s) seen, none for this session";
  return radio_error(RadioError::no_advert_timeout,
                     "no BLE advert matched within " + span + " (" + seen +
                         "): is Bluetooth on on the phone, and is it within a few metres?");
}

}  // namespace hybrid::ble
