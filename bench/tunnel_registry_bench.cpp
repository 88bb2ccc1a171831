// The tunnel registry alone (no sockets): how fast the sans-I/O core admits, pairs, relays
// and forgets tunnels, next to a bare hash-map insert/erase of the same ids as a baseline.
// Shows how much of a node's per-tunnel cost is the state machine and how much is lws.
// The two memory benchmarks report the heap bytes one idle push registration and one
// pending tunnel hold (glibc's mallinfo2), the figures behind max_push_registrations and
// max_pending_per_ip: a node's worst-case memory is roughly their product.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstring>
#include <string>
#include <unordered_map>

#include "tunnel/registry.h"

using namespace hybrid;
using namespace hybrid::tunnel;

namespace {

TunnelId id_of(uint64_t n) {
  TunnelId t;
  std::memcpy(t.bytes.data(), &n, 8);
  std::memcpy(t.bytes.data() + 8, &n, 8);
  return t;
}

void BM_RegistryPairRelayClose(benchmark::State& state) {
  ServerLimits l;
  l.max_pending_per_ip = 1u << 30;
  l.max_connections = 1u << 30;
  l.tunnel_ttl = std::chrono::seconds(1);
  Registry reg(*RoutingId::from_hex("2A0000", "r"), l);
  auto now = TimePoint{} + std::chrono::hours(1);
  uint64_t n = 0;
  ConnId conn = 1;
  Bytes msg(256, 7);
  for (auto _ : state) {
    TunnelId t = id_of(++n);
    UpgradeRequest up{NewTunnelRequest{t}, "10.0.0.1", {}, false, {}};
    ConnId phone = conn++, client = conn++;
    benchmark::DoNotOptimize(reg.admit(phone, up, now));
    up.path = ConnectRequest{reg.routing_id(), t};
    benchmark::DoNotOptimize(reg.admit(client, up, now));
    reg.on_message(client, msg, true, now);
    reg.on_message(phone, msg, true, now);
    reg.on_closed(phone, true, now);
    benchmark::DoNotOptimize(reg.take_actions());
    if ((n & 0xffff) == 0) {
      now += std::chrono::seconds(2);
      reg.tick(now);  // forget ended ids, as the server does every 500 ms
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RegistryPairRelayClose);

void BM_BaselineHashMapInsertErase(benchmark::State& state) {
  std::unordered_map<uint64_t, std::array<uint8_t, 64>> map;
  uint64_t n = 0;
  for (auto _ : state) {
    map.emplace(++n, std::array<uint8_t, 64>{});
    map.erase(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BaselineHashMapInsertErase);

// Heap in use: small blocks plus the large ones glibc maps on their own (hash tables' bucket
// arrays past the mmap threshold), which uordblks alone leaves out.
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

ServerLimits roomy_limits() {
  ServerLimits l;
  l.max_pending_per_ip = 1u << 30;
  l.max_connections = 1u << 30;
  l.max_connections_per_ip = 1u << 30;
  l.max_push_registrations = 1u << 30;
  l.max_push_registrations_per_ip = 1u << 30;
  return l;
}

constexpr int kHeld = 20000;

// Fills a fresh registry with kHeld items through `hold`, checks that `held` counts them all,
// and reports the heap they take, per item, as the counter heap_bytes_each.
template <class Hold, class Held>
void report_heap_per_item(benchmark::State& state, Hold hold, Held held) {
  double per = 0;
  for (auto _ : state) {
    size_t before = heap_in_use();
    {
      Registry reg(*RoutingId::from_hex("2A0000", "r"), roomy_limits());
      auto now = TimePoint{} + std::chrono::hours(1);
      for (int i = 0; i < kHeld; ++i) {
        if (!hold(reg, i, now)) return state.SkipWithError("refused");
      }
      benchmark::DoNotOptimize(reg.take_actions());
      if (held(reg.gauges()) != kHeld) return state.SkipWithError("items not kept");
      per = static_cast<double>(heap_in_use() - before) / kHeld;
    }
  }
  state.counters["heap_bytes_each"] = per;
}

// A phone registers its contact id on /cable/push/<id> and goes away: what the node keeps
// until the registration's lifetime ends (its secret hash, owner, an empty push queue).
void BM_MemoryPerPushRegistration(benchmark::State& state) {
  report_heap_per_item(state, [](Registry& reg, int i, TimePoint now) {
    Bytes contact(16, 0);
    std::memcpy(contact.data(), &i, sizeof i);
    UpgradeRequest up{PushRequest{contact}, "10.0.0.1", {}, false, "secret-secret-secret"};
    if (!reg.admit(static_cast<ConnId>(i + 1), up, now).ok()) return false;
    reg.on_closed(static_cast<ConnId>(i + 1), true, now);
    return true;
  }, [](const Gauges& g) { return g.push_registrations; });
}
BENCHMARK(BM_MemoryPerPushRegistration)->Iterations(3)->Unit(benchmark::kMillisecond);

// The baseline: a tunnel opened by /new whose second side has not come yet.
void BM_MemoryPerPendingTunnel(benchmark::State& state) {
  report_heap_per_item(state, [](Registry& reg, int i, TimePoint now) {
    UpgradeRequest up{NewTunnelRequest{id_of(static_cast<uint64_t>(i) + 1)}, "10.0.0.1", {}, false, {}};
    return reg.admit(static_cast<ConnId>(i + 1), up, now).ok();
  }, [](const Gauges& g) { return g.pending_tunnels; });
}
BENCHMARK(BM_MemoryPerPendingTunnel)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
