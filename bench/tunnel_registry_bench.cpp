// The tunnel registry alone (no sockets): how fast the sans-I/O core admits, pairs, relays
// and forgets tunnels, next to a bare hash-map insert/erase of the same ids as a baseline.
// Shows how much of a node's per-tunnel cost is the state machine and how much is lws.
#include <benchmark/benchmark.h>

#include <cstring>
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

}  // namespace

BENCHMARK_MAIN();
