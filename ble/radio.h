// The BLE radio as the hybrid roles see it (docs/protocol.md §5): the client listens for caBLE service
// data, the phone advertises it. Implementations: BluezRadio (BlueZ over D-Bus, also used
// with the virtual air) and LoopbackRadio (in memory, for tests of other layers).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"

namespace hybrid::ble {

// §5.1: the two 16-bit service UUIDs that carry a caBLE advert.
enum class ServiceUuid { fff9, fde2 };

// "0000fff9-0000-1000-8000-00805f9b34fb" (BlueZ's 128-bit string form).
std::string_view uuid_string(ServiceUuid uuid);
// "fff9" / "fde2".
std::string_view uuid_short_name(ServiceUuid uuid);
// Accepts BlueZ's 128-bit form (any case) or the bare 16-bit form ("fff9", "0xFFF9").
// Any other UUID (e.g. 0xFCF1 Nearby frames) is not a caBLE UUID: nullopt.
std::optional<ServiceUuid> parse_cable_uuid(std::string_view text);

// One service-data payload seen on the air.
struct ServiceDataEvent {
  ServiceUuid uuid = ServiceUuid::fff9;
  Bytes data;                  // any length; the hybrid core only accepts exactly 20 bytes
  std::string device_address;  // "AA:BB:CC:DD:EE:FF" (a random address for phones)
  int16_t rssi = 0;            // dBm; 0 when the radio did not report one
};

// Error::code values of this layer. Each one is a different thing a person must do.
enum class RadioError : int {
  bluez_not_running = 1,  // nothing owns org.bluez on the bus
  no_adapter = 2,         // BlueZ lists no adapter (or not the one asked for)
  powered_off = 3,        // the adapter is off (--power-on can turn it on)
  rfkill_blocked = 4,     // rfkill (airplane mode, kill switch) blocks the adapter
  permission_denied = 5,  // D-Bus policy or BlueZ refused the call
  discovery_busy = 6,     // BlueZ/the controller refused to start a scan: one is running
  no_advert_timeout = 7,  // no advert was accepted before the timeout
  cancelled = 8,          // the listen()'s stop token asked it to stop
  dbus_failure = 9,       // the bus is unreachable or a call failed unexpectedly
  advertising_rejected = 10,  // BlueZ refused the advertisement (too long, too many, …)
};
HYBRID_ERROR_DOMAIN(RadioError, "bluetooth")

// "powered_off", "no_advert_timeout", … (stable names for JSON output and logs).
std::string_view radio_error_name(RadioError e);
// The RadioError in an Error from this layer; nullopt for codes that are not ours.
std::optional<RadioError> radio_error_of(const Error& e);
inline bool is_radio_error(const Error& e, RadioError want) { return radio_error_of(e) == want; }
inline Error radio_error(RadioError e, std::string message) { return make_error(e, std::move(message)); }

// The message for a listen() that ran out of time. `cable_adverts_seen` counts the payloads
// under 0xFFF9/0xFDE2 handed to the callback (none of which it accepted).
Error no_advert_error(std::chrono::milliseconds timeout, size_t cable_adverts_seen);

class Radio {  // one per process
 public:
  virtual ~Radio() = default;

  // Scans until the callback returns true (match found), the timeout expires, or `stop` is
  // requested (then: a `cancelled` error, promptly; at once if it was requested before the
  // call). The callback gets every service-data payload under 0xFFF9/0xFDE2 of ANY length (the
  // caller decides; the hybrid core only accepts exactly 20 bytes), including repeated
  // adverts from the same address with new data. Adverts cached before the scan started
  // are not reported (a linked phone's old advert would still decrypt). The callback runs
  // on the thread that called listen() and must not call back into the radio. Discovery is
  // always stopped on return. One listen() at a time per radio. Every implementation
  // defaults `stop` to a token that never stops.
  virtual Status listen(const std::function<bool(const ServiceDataEvent&)>& on_advert,
                        std::chrono::milliseconds timeout, std::stop_token stop = {}) = 0;

  // Starts advertising 0xFFF9 service data (20 bytes) until stop_advertising()/destruction.
  // Calling it again replaces the advert (a new advertisement is registered).
  virtual Status start_advertising(ByteView service_data) = 0;
  virtual void stop_advertising() = 0;
};

}  // namespace hybrid::ble
