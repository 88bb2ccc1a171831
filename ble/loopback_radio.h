// An in-memory Radio for tests of the layers above BLE: every LoopbackRadio attached to the
// same LoopbackAir hears what the others advertise, in the same process, without D-Bus.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ble/radio.h"

namespace hybrid::ble {

class LoopbackRadio;

// The shared medium. Thread-safe.
class LoopbackAir : public std::enable_shared_from_this<LoopbackAir> {
 public:
  static std::shared_ptr<LoopbackAir> create() { return std::shared_ptr<LoopbackAir>(new LoopbackAir()); }

  // A device that is not one of our radios (another phone, a Nearby beacon) starts or
  // replaces its broadcast. Listening radios hear it at once; later listeners hear it when
  // they start (as if it repeated its advert).
  void broadcast(const std::string& address, ServiceUuid uuid, ByteView data, int16_t rssi = -60);
  void stop_broadcast(const std::string& address);

  // The next listen() (on any radio) fails with this error instead of scanning; likewise
  // the next start_advertising(). Lets other layers test their error paths.
  void fail_next_listen(Error e);
  void fail_next_advertise(Error e);

  // How many listens are running now (0 after every listen() returned).
  int active_listeners() const;

 private:
  friend class LoopbackRadio;
  LoopbackAir() = default;

  struct Listener {
    std::deque<ServiceDataEvent> queue;
  };
  void deliver_locked(const ServiceDataEvent& ev);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ServiceDataEvent> broadcasts_;  // by address
  std::map<int, Listener*> listeners_;
  int next_listener_id_ = 1;
  std::optional<Error> listen_error_;
  std::optional<Error> advertise_error_;
};

class LoopbackRadio : public Radio {
 public:
  // `address` is the address other radios see for this one's adverts.
  LoopbackRadio(std::shared_ptr<LoopbackAir> air, std::string address);
  ~LoopbackRadio() override;

  Status listen(const std::function<bool(const ServiceDataEvent&)>& on_advert,
                std::chrono::milliseconds timeout, std::stop_token stop = {}) override;
  Status start_advertising(ByteView service_data) override;
  void stop_advertising() override;

 private:
  std::shared_ptr<LoopbackAir> air_;
  std::string address_;
};

}  // namespace hybrid::ble
