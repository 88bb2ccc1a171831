// Prometheus text exposition (format 0.0.4) of the registry's counters and gauges.
#pragma once

#include <string>

#include "tunnel/limits.h"
#include "tunnel/registry.h"

namespace hybrid::tunnel {

// Extra numbers the adapter knows and the registry does not.
struct AdapterStats {
  uint64_t http_requests = 0;     // plain HTTP requests answered (healthz, metrics, refusals)
  uint64_t sockets_open = 0;      // every socket lws holds, WebSocket or not
  ServerLimits limits;            // exported so that alerts can compare usage with them
};

std::string render_metrics(const Counters& counters, const Gauges& gauges, const AdapterStats& stats);

}  // namespace hybrid::tunnel
