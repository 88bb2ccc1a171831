#include "ble/loopback_radio.h"

#include "base/log.h"

namespace hybrid::ble {

void LoopbackAir::deliver_locked(const ServiceDataEvent& ev) {
  for (auto& [id, l] : listeners_) l->queue.push_back(ev);
  cv_.notify_all();
}

void LoopbackAir::broadcast(const std::string& address, ServiceUuid uuid, ByteView data, int16_t rssi) {
  std::lock_guard lock(mu_);
  ServiceDataEvent ev{uuid, to_bytes(data), address, rssi};
  broadcasts_[address] = ev;
  deliver_locked(ev);
}

void LoopbackAir::stop_broadcast(const std::string& address) {
  std::lock_guard lock(mu_);
  broadcasts_.erase(address);
}

void LoopbackAir::fail_next_listen(Error e) {
  std::lock_guard lock(mu_);
  listen_error_ = std::move(e);
}

void LoopbackAir::fail_next_advertise(Error e) {
  std::lock_guard lock(mu_);
  advertise_error_ = std::move(e);
}

int LoopbackAir::active_listeners() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(listeners_.size());
}

LoopbackRadio::LoopbackRadio(std::shared_ptr<LoopbackAir> air, std::string address)
    : air_(std::move(air)), address_(std::move(address)) {}

LoopbackRadio::~LoopbackRadio() { stop_advertising(); }

Status LoopbackRadio::listen(const std::function<bool(const ServiceDataEvent&)>& on_advert,
                             std::chrono::milliseconds timeout, std::stop_token stop) {
  if (stop.stop_requested()) return radio_error(RadioError::cancelled, "BLE scan cancelled");
  // Taking the lock once orders the stop request before a listener's check-then-wait, so
  // the wake-up cannot be lost.
  std::stop_callback wake_on_stop(stop, [air = air_.get()] {
    { std::lock_guard lock(air->mu_); }
    air->cv_.notify_all();
  });
  LoopbackAir::Listener me;
  int id = 0;
  {
    std::lock_guard lock(air_->mu_);
    if (air_->listen_error_) {
      Error e = std::move(*air_->listen_error_);
      air_->listen_error_.reset();
      return e;
    }
    id = air_->next_listener_id_++;
    air_->listeners_[id] = &me;
    // Devices already broadcasting are heard as soon as the scan starts.
    for (auto& [addr, ev] : air_->broadcasts_) {
      if (addr != address_) me.queue.push_back(ev);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t seen = 0;
  Status result = no_advert_error(timeout, 0);
  std::unique_lock lock(air_->mu_);
  for (;;) {
    if (stop.stop_requested()) {
      result = radio_error(RadioError::cancelled, "BLE scan cancelled");
      break;
    }
    if (!me.queue.empty()) {
      ServiceDataEvent ev = std::move(me.queue.front());
      me.queue.pop_front();
      if (ev.device_address == address_) continue;  // a radio does not hear itself
      ++seen;
      lock.unlock();
      bool done = on_advert(ev);
      lock.lock();
      if (done) {
        result = Status();
        break;
      }
      continue;
    }
    if (air_->cv_.wait_until(lock, deadline) == std::cv_status::timeout && me.queue.empty()) {
      result = no_advert_error(timeout, seen);
      break;
    }
  }
  air_->listeners_.erase(id);
  return result;
}

Status LoopbackRadio::start_advertising(ByteView service_data) {
  {
    std::lock_guard lock(air_->mu_);
    if (air_->advertise_error_) {
      Error e = std::move(*air_->advertise_error_);
      air_->advertise_error_.reset();
      return e;
    }
  }
  air_->broadcast(address_, ServiceUuid::fff9, service_data, -50);
  log::debug("ble", "loopback radio {} advertising {} bytes", address_, service_data.size());
  return {};
}

void LoopbackRadio::stop_advertising() { air_->stop_broadcast(address_); }

}  // namespace hybrid::ble
