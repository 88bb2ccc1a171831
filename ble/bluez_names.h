// The D-Bus names of BlueZ's API (doc/org.bluez.*.rst) and of the freedesktop interfaces
// it is read through, in one place for both sides of ble/: the BlueZ client (bluez_radio,
// bluez_probe, bluez_objects) and the virtual air that imitates bluetoothd.
#pragma once

namespace hybrid::ble {

inline constexpr const char* kBluez = "org.bluez";  // bluetoothd's well-known bus name
inline constexpr const char* kAdapterIface = "org.bluez.Adapter1";
inline constexpr const char* kDeviceIface = "org.bluez.Device1";
inline constexpr const char* kAdvManagerIface = "org.bluez.LEAdvertisingManager1";
inline constexpr const char* kAdvertisementIface = "org.bluez.LEAdvertisement1";
inline constexpr const char* kObjectManagerIface = "org.freedesktop.DBus.ObjectManager";
inline constexpr const char* kPropertiesIface = "org.freedesktop.DBus.Properties";

}  // namespace hybrid::ble
