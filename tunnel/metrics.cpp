#include "tunnel/metrics.h"

#include <fmt/format.h>

namespace hybrid::tunnel {
namespace {

// The HELP and TYPE lines of a metric family.
void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP hybrid_tunnel_{} {}\n# TYPE hybrid_tunnel_{} {}\n", name, help, name, type);
}

// A metric without labels: its header and its one sample.
void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
  header(out, name, type, help);
  out += fmt::format("hybrid_tunnel_{} {}\n", name, value);
}

}  // namespace

std::string render_metrics(const Counters& c, const Gauges& g, const AdapterStats& s) {
  std::string out;
  metric(out, "pending_tunnels", "gauge", "Tunnels waiting for their second side.", g.pending_tunnels);
  metric(out, "paired_tunnels", "gauge", "Tunnels with both sides connected.", g.paired_tunnels);
  metric(out, "connections", "gauge", "Admitted WebSocket connections.", g.connections);
  metric(out, "sockets", "gauge", "Open sockets of any kind.", s.sockets_open);
  metric(out, "push_listeners", "gauge", "Linked phones holding the push channel open.", g.push_listeners);
  metric(out, "push_registrations", "gauge", "Contact ids bound to a push secret.", g.push_registrations);
  metric(out, "ended_tunnels_remembered", "gauge", "Ended tunnel ids kept to answer 410.", g.ended_tunnels_remembered);
  metric(out, "tracked_addresses", "gauge", "Client addresses with pending tunnels or recent refusals.", g.tracked_ips);
  metric(out, "max_connections", "gauge", "Configured limit on WebSocket connections (max_connections).",
         s.limits.max_connections);
  metric(out, "max_pending_per_ip", "gauge", "Configured limit on pending tunnels per address.",
         s.limits.max_pending_per_ip);
  metric(out, "max_push_registrations", "gauge", "Configured limit on push registrations.",
         s.limits.max_push_registrations);
  metric(out, "queued_bytes", "gauge", "Bytes queued for absent peers over the node.", g.queued_bytes);
  metric(out, "tunnels_created_total", "counter", "Tunnels opened by /new or /contact.", c.tunnels_created);
  metric(out, "pairings_total", "counter", "Tunnels joined by /connect.", c.pairings);
  metric(out, "messages_relayed_total", "counter", "Messages delivered to the peer.", c.messages_relayed);
  metric(out, "bytes_relayed_total", "counter", "Payload bytes delivered to the peer.", c.bytes_relayed);
  metric(out, "ttl_expiries_total", "counter", "Tunnels closed because their TTL ran out.", c.ttl_expiries);
  metric(out, "idle_timeouts_total", "counter", "Tunnels or push listeners closed for idleness.", c.idle_timeouts);
  metric(out, "pushes_sent_total", "counter", "Contact requests pushed to a phone.", c.pushes_sent);
  metric(out, "pushes_dropped_total", "counter", "Pushes dropped (queue full or tunnel gone).", c.pushes_dropped);
  metric(out, "push_registrations_total", "counter", "Contact ids newly bound to a secret.", c.push_registrations);
  metric(out, "push_registrations_evicted_total", "counter",
         "Registrations of phones away longest dropped to make room.", c.push_registrations_evicted);
  metric(out, "push_registrations_expired_total", "counter",
         "Registrations dropped after their phone stayed away for their lifetime.", c.push_registrations_expired);
  metric(out, "http_requests_total", "counter", "Plain HTTP responses written.", s.http_requests);
  header(out, "rejects_total", "counter", "Requests refused or connections cut, by reason.");
  for (int i = 0; i < kRejectCount; ++i) {
    out += fmt::format("hybrid_tunnel_rejects_total{{reason=\"{}\"}} {}\n", reject_name(static_cast<Reject>(i)),
                       c.rejects[i]);
  }
  header(out, "closes_total", "counter", "WebSocket close frames sent, by code.");
  for (const auto& [code, n] : c.closes) {
    out += fmt::format("hybrid_tunnel_closes_total{{code=\"{}\"}} {}\n", wire_value(code), n);
  }
  return out;
}

}  // namespace hybrid::tunnel
