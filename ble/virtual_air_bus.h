// The virtual air's org.bluez on sd-bus (internal to ble/): exports the objects BlueZ
// documents (doc/org.bluez.Adapter.rst, Device.rst, LEAdvertisingManager.rst) with their
// vtables, turns method calls and property writes into calls on the VirtualAirModel,
// answers them as bluetoothd does, and emits the signals the model queued (ObjectManager's
// InterfacesAdded/Removed, Properties.PropertiesChanged). The fault table's knobs answer
// matching calls before their handler runs.
#pragma once

#include <systemd/sd-bus.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "ble/sdbus.h"
#include "ble/virtual_air_faults.h"
#include "ble/virtual_air_model.h"

namespace hybrid::ble {

class VirtualAirBus {
 public:
  // `bus`, `model` and `faults` outlive this object; every call runs on the bus's thread.
  VirtualAirBus(sd_bus* bus, VirtualAirModel& model, const FaultTable& faults);
  VirtualAirBus(const VirtualAirBus&) = delete;
  VirtualAirBus& operator=(const VirtualAirBus&) = delete;

  // Installs the knobs' filter, the ObjectManager at /, Adapter1 and LEAdvertisingManager1
  // (unless the options say there is no adapter) and the watch on clients leaving the bus.
  Status export_objects();
  // Emits what the model queued, in order, exporting and unexporting Device1 objects.
  void emit_signals();
  // Like bluetoothd shutting down: LEAdvertisement1.Release to every registered advertiser.
  void release_advertisements();

 private:
  friend struct VirtualAirHandlers;
  struct ExportedDevice {
    VirtualAirBus* air = nullptr;
    uint64_t id = 0;
    std::string path;
    sdbus::SlotPtr slot;
  };
  struct PendingCall {
    VirtualAirBus* air = nullptr;
    uint64_t id = 0;
    sdbus::MessagePtr call;  // the RegisterAdvertisement to answer
    sdbus::SlotPtr slot;     // the GetAll on the advertisement
  };
  void export_device(uint64_t id);
  void unexport_device(uint64_t id);

  sd_bus* bus_;
  VirtualAirModel& model_;
  const FaultTable& faults_;
  std::vector<sdbus::SlotPtr> slots_;
  std::map<uint64_t, std::unique_ptr<ExportedDevice>> devices_;  // by advert id
  std::map<uint64_t, std::unique_ptr<PendingCall>> pending_;     // by pending registration id
};

}  // namespace hybrid::ble
