// The simulated Bluetooth world behind the virtual air, without D-Bus (sans-I/O): one
// adapter (powered, rfkill), the bus clients that discover and their filters, the adverts in
// range (registered by clients through LEAdvertisingManager1 or broadcast by remote devices),
// and the Device1 objects bluetoothd would show for them, with its timing (receptions every
// advert interval, DuplicateData re-reports, RSSI jitter, the temporary-device timeout).
// Every change bluetoothd would announce is queued as an AirSignal, in bluetoothd's order,
// for the bus adapter (ble/virtual_air_bus.h) to emit; time comes in as arguments.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "ble/dbus_error.h"
#include "ble/discovery_filter.h"
#include "ble/virtual_air.h"

namespace hybrid::ble {

using AirClock = std::chrono::steady_clock;
// 128-bit UUID string → bytes (the value of ServiceData).
using AirServiceData = std::vector<std::pair<std::string, Bytes>>;
// The answer to a method call: nullopt is success, else the error reply bluetoothd sends.
using AirReply = std::optional<DbusError>;

struct AirAdvert {
  std::string owner;  // the advertiser's unique bus name; "" for remote devices
  std::string path;   // its LEAdvertisement1 object
  AirServiceData service_data;
  std::vector<std::string> uuids;
  std::string address;
  // False once its advertiser stopped; its Device1 stays until the temporary timeout.
  bool active = true;
  AirClock::time_point stopped_at{};
};

// A Device1 the adapter shows for an advert (same id as the advert).
struct AirDevice {
  std::string path;  // its object, <adapter path>/dev_XX_XX_XX_XX_XX_XX as bluetoothd names it
  std::string address;
  int16_t rssi = 0;  // the last RSSI signalled
};

// An LEAdvertisement1's properties as read from its owner (LEAdvertisement1.GetAll).
struct AdvertisementProperties {
  std::string type = "broadcast";
  std::vector<std::string> uuids;  // ServiceUUIDs
  AirServiceData service_data;
  bool discoverable = false;
  bool includes_tx_power = false;   // "tx-power" in Includes
  bool includes_appearance = false; // "appearance" in Includes
  size_t manufacturer_bytes = 0;    // ManufacturerData as it counts on air
};

// Something bluetoothd announces on the bus.
struct AirSignal {
  enum class Kind {
    device_added,        // InterfacesAdded for the Device1 of `device`
    device_removed,      // InterfacesRemoved
    device_changed,      // PropertiesChanged(properties) on Device1
    adapter_changed,     // PropertiesChanged(properties) on Adapter1
    advertising_changed, // PropertiesChanged(SupportedInstances, ActiveInstances)
  };
  Kind kind;
  uint64_t device = 0;                 // device_*: the advert id
  std::vector<const char*> properties; // *_changed: property names (static strings)
};

// A RegisterAdvertisement waiting for its advertisement's properties.
struct PendingAdvertisement {
  std::string owner;
  std::string path;
};

class VirtualAirModel {
 public:
  VirtualAirModel(VirtualAirOptions options, AirClock::time_point now, uint32_t seed = std::random_device{}());

  const VirtualAirOptions& options() const { return opt_; }
  VirtualAirStats stats() const;
  // What bluetoothd would have announced since the last call, in order.
  std::vector<AirSignal> take_signals();

  // --- the adapter ---------------------------------------------------------------------
  const std::string& adapter_path() const { return adapter_path_; }  // /org/bluez/hci0
  bool powered() const { return powered_; }
  const char* power_state() const;  // Adapter1.PowerState: "on", "off", "off-blocked"
  bool discovering() const;         // Adapter1.Discovering: some client discovers
  AirReply require_powered() const; // NotReady while off
  // A client writes Adapter1.Powered: Blocked while rfkill blocks the adapter.
  AirReply write_powered(bool on);
  // Powers the adapter on or off (a user toggling Bluetooth); off ends every discovery.
  void set_powered(bool on);

  // --- discovery -----------------------------------------------------------------------
  AirReply start_discovery(const std::string& client, AirClock::time_point now);
  AirReply stop_discovery(const std::string& client);
  // nullopt clears the client's filter (an empty dictionary); the last filter set applies.
  void set_discovery_filter(const std::string& client, std::optional<DiscoveryFilter> filter);
  // A client left the bus: its discovery ends, its adverts stop, its registrations are dropped.
  void client_gone(const std::string& client, AirClock::time_point now);
  // Receives every advertiser in range once the advert interval has passed, and removes
  // the devices of stopped advertisers after the temporary timeout.
  void advance(AirClock::time_point now);
  // When advance() has work next (meaningful while discovering).
  AirClock::time_point next_reception() const { return next_reception_; }

  // --- devices -------------------------------------------------------------------------
  const std::map<uint64_t, AirDevice>& devices() const { return devices_; }
  // Adapter1.RemoveDevice: the device goes (and comes back with its next advert).
  void remove_device(uint64_t id);
  // Forgets a device without a signal (the bus could not export it); the next sync retries.
  void forget_device(uint64_t id) { devices_.erase(id); }

  // --- advertising ---------------------------------------------------------------------
  const std::map<uint64_t, AirAdvert>& adverts() const { return adverts_; }
  const AirAdvert* advert(uint64_t id) const;
  int registered_count() const;  // LEAdvertisingManager1.ActiveInstances
  int supported_instances() const;
  // RegisterAdvertisement, first step: AlreadyExists, NotPermitted (no instance left), or
  // a pending registration's id through `pending_id`.
  AirReply begin_registration(const std::string& owner, const std::string& path, uint64_t& pending_id);
  bool has_pending(uint64_t pending_id) const { return pending_.count(pending_id) != 0; }
  // Takes the pending registration away (its properties arrived or could not be read).
  std::optional<PendingAdvertisement> take_pending(uint64_t pending_id);
  // RegisterAdvertisement, second step: checks the properties like bluetoothd (type, the
  // legacy 31-byte budget) and starts advertising them from a new random address.
  AirReply register_advertisement(const PendingAdvertisement& from, const AdvertisementProperties& props);
  AirReply unregister_advertisement(const std::string& owner, const std::string& path, AirClock::time_point now);
  // A remote device (not a bus client) advertises `service_data`; an address of a device
  // broadcast before changes that device's advert.
  void broadcast(const std::string& address, AirServiceData service_data);
  // A random resolvable private address, as phones use.
  std::string random_address();

 private:
  DiscoverySessions sessions() const;
  int16_t jittered_rssi();
  void add_device(uint64_t id);
  void sync_devices();
  void end_all_discovery();
  void retire_advert(uint64_t id, AirClock::time_point now);
  void receive(AirClock::time_point now);
  // The active advert `owner` registered at `path`, if any.
  std::optional<uint64_t> find_registered(const std::string& owner, const std::string& path) const;
  void signal(AirSignal::Kind kind, std::vector<const char*> properties = {}, uint64_t device = 0);

  VirtualAirOptions opt_;
  std::string adapter_path_;
  std::mt19937 rng_;
  bool powered_ = true;
  struct Client {
    bool discovering = false;
    std::optional<DiscoveryFilter> filter;  // set by SetDiscoveryFilter; kept across sessions
  };
  std::map<std::string, Client> clients_;  // by unique bus name
  std::map<uint64_t, AirAdvert> adverts_;
  uint64_t next_advert_id_ = 1;
  std::map<uint64_t, AirDevice> devices_;  // by advert id
  std::map<uint64_t, PendingAdvertisement> pending_;
  uint64_t next_pending_id_ = 1;
  VirtualAirStats counters_;
  AirClock::time_point next_reception_;
  std::vector<AirSignal> signals_;
};

}  // namespace hybrid::ble
