// The VirtualAir facade: owns the bus connection, the model, the knobs and the exported
// objects, serves them on one thread and takes requests from others (stop, stats,
// broadcast, set_powered). The world is in virtual_air_model, the D-Bus side in
// virtual_air_bus, the knobs in virtual_air_faults.
#include "ble/virtual_air.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <stdexcept>

#include "ble/bluez_names.h"
#include "ble/sdbus.h"
#include "ble/virtual_air_bus.h"
#include "ble/virtual_air_faults.h"
#include "ble/virtual_air_model.h"

namespace hybrid::ble {

struct VirtualAir::Impl {
  explicit Impl(VirtualAirOptions options)
      : model(std::move(options), AirClock::now()), faults(model.options().method_errors) {}
  ~Impl() {
    if (wake_fd >= 0) close(wake_fd);
  }

  sdbus::BusPtr bus;  // declared first: closed after the objects exported on it are gone
  // The world and the objects (guarded by mu while the loop processes; stats() reads under mu).
  mutable std::mutex mu;
  VirtualAirModel model;
  FaultTable faults;
  std::unique_ptr<VirtualAirBus> objects;

  // Cross-thread requests.
  std::mutex task_mu;
  std::vector<std::function<void()>> tasks;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};

  void wake() {
    uint64_t one = 1;
    ssize_t n = write(wake_fd, &one, sizeof one);
    (void)n;
  }
  // Runs `task` on the loop's thread, under mu.
  void post(std::function<void()> task) {
    {
      std::lock_guard tl(task_mu);
      tasks.push_back(std::move(task));
    }
    wake();
  }
};

VirtualAir::VirtualAir(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

VirtualAir::~VirtualAir() = default;

Result<std::unique_ptr<VirtualAir>> VirtualAir::create(const std::string& bus_address, VirtualAirOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl->wake_fd < 0) throw std::runtime_error("eventfd failed");

  HYBRID_TRY(impl->bus, sdbus::open_bus(bus_address));
  sd_bus* bus = impl->bus.get();
  impl->objects = std::make_unique<VirtualAirBus>(bus, impl->model, impl->faults);
  HYBRID_TRY_STATUS(impl->objects->export_objects());
  int r = sd_bus_request_name(bus, kBluez, 0);
  if (r == -EEXIST || r == -EALREADY) {
    return make_error("virtual air: org.bluez is already owned on " + sdbus::describe_bus(bus_address) +
                      " (a real bluetoothd or another virtual air); use a private bus");
  }
  if (r < 0) {
    return make_error("virtual air: cannot own org.bluez on " + sdbus::describe_bus(bus_address) + ": " +
                      sdbus::errno_text(r) + " (the bus policy must allow it)");
  }
  return std::unique_ptr<VirtualAir>(new VirtualAir(std::move(impl)));
}

Status VirtualAir::run() {
  Impl& s = *impl_;
  sd_bus* bus = s.bus.get();
  Status result;
  while (!s.stopping.load()) {
    {
      std::lock_guard lock(s.mu);
      int r;
      while ((r = sd_bus_process(bus, nullptr)) > 0) {
      }
      if (r < 0) {
        result = make_error("virtual air: lost the bus: " + sdbus::errno_text(r));
        break;
      }
      std::vector<std::function<void()>> tasks;
      {
        std::lock_guard tl(s.task_mu);
        tasks.swap(s.tasks);
      }
      for (auto& t : tasks) t();
      s.model.advance(AirClock::now());
      s.objects->emit_signals();
      // Flush what the handlers queued before sleeping.
      sd_bus_flush(bus);
    }
    auto deadline = s.model.discovering() ? s.model.next_reception() : AirClock::now() + std::chrono::seconds(30);
    auto w = sdbus::wait(bus, deadline, s.wake_fd);
    if (!w) {
      result = make_error("virtual air: " + w.error().message);
      break;
    }
    if (*w == sdbus::Wake::wake_fd) {
      uint64_t v;
      ssize_t n = read(s.wake_fd, &v, sizeof v);
      (void)n;
    }
  }
  // Like bluetoothd shutting down: tell every advertiser its advertisement is gone.
  std::lock_guard lock(s.mu);
  s.objects->release_advertisements();
  sd_bus_flush(bus);
  return result;
}

void VirtualAir::stop() {
  impl_->stopping.store(true);
  impl_->wake();
}

VirtualAirStats VirtualAir::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->model.stats();
}

std::string VirtualAir::broadcast(std::vector<std::pair<std::string, Bytes>> service_data, std::string address) {
  if (address.empty()) {
    std::lock_guard lock(impl_->mu);
    address = impl_->model.random_address();
  }
  impl_->post([this, address, data = std::move(service_data)]() mutable {
    impl_->model.broadcast(address, std::move(data));
    impl_->objects->emit_signals();
  });
  return address;
}

void VirtualAir::set_powered(bool on) {
  impl_->post([this, on] {
    impl_->model.set_powered(on);
    impl_->objects->emit_signals();
  });
}

}  // namespace hybrid::ble
