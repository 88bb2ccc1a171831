// BlueZ's discovery filters as a model, without D-Bus (the virtual air's "device model" part):
// what one client asks with Adapter1.SetDiscoveryFilter, how bluetoothd merges the filters of
// every client that discovers, and what it then signals for each advert it receives.
// Semantics from doc/org.bluez.Adapter.rst (SetDiscoveryFilter, StartDiscovery) and, where
// the text is silent, from bluetoothd's src/adapter.c and src/device.c:
// - DuplicateData defaults to true: every received advert re-signals ServiceData (and
//   ManufacturerData); with false, only changed data is signalled.
// - Filters of all discovering clients are merged and the signals go to everyone: an advert
//   is reported when any discovering client's filter matches it (a client that discovers
//   without a filter matches everything); duplicates are signalled when any discovering
//   client with a filter asked for DuplicateData.
// - RSSI: with every discovering client filtered, each change is signalled; otherwise only
//   changes of at least 8 dB ("During discovery RSSI delta-threshold is imposed").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hybrid::ble {

struct DiscoveryFilter {
  std::vector<std::string> uuids;   // 128-bit, lower case; empty: any
  std::optional<int16_t> rssi;      // report only adverts received at least this strong
  std::optional<uint16_t> pathloss; // report only adverts whose TX power - RSSI is at most this
  std::string transport = "auto";   // "auto", "bredr", "le"
  bool duplicate_data = true;       // BlueZ's documented default
  bool discoverable = false;
  std::string pattern;              // prefix of the address or the name; empty: any
};

// What the adapter "received" from one advertiser.
struct ReceivedAdvert {
  std::string address;
  std::string name;                        // "" when the advert carries none
  std::vector<std::string> uuids;          // ServiceUUIDs and the ServiceData keys, 128-bit
  int16_t rssi = 0;
  std::optional<int8_t> tx_power;          // when the advert includes it
};

// The filters of the clients now discovering: one entry per client, nullopt for a client
// that discovers without a filter.
using DiscoverySessions = std::vector<std::optional<DiscoveryFilter>>;

// "fff9", "0xFFF9", "0000fff9" or a 128-bit string → the 128-bit lower-case form; nullopt
// when it is not a UUID.
std::optional<std::string> normalize_uuid(const std::string& uuid);

// One client's filter against one advert (BlueZ's is_filter_match for a single client).
bool filter_matches(const DiscoveryFilter& filter, const ReceivedAdvert& advert);

struct MergedDiscovery {
  bool discovering = false;     // at least one session
  bool le_scan = false;         // some session scans LE (no filter, "auto" or "le")
  bool filtered = false;        // every session has a filter (bluetoothd's filtered_discovery)
  bool duplicate_data = false;  // some session with a filter asked for DuplicateData
};
MergedDiscovery merge(const DiscoverySessions& sessions);

// Whether an LE advert received now is reported at all (creates or updates a Device1).
bool advert_reported(const DiscoverySessions& sessions, const ReceivedAdvert& advert);

// Whether a new RSSI reading is signalled (and stored) given the last signalled one.
bool rssi_change_signalled(bool filtered, int16_t last, int16_t now);

}  // namespace hybrid::ble
