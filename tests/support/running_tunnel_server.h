// A real tunnel server on 127.0.0.1 for the scope of a test: created from a config (port 0
// by default, so the kernel picks a free one), serving on its own thread, stopped and joined
// when the test leaves the scope.
#pragma once

#include <catch2/catch.hpp>

#include <memory>

#include "tunnel/server.h"

namespace hybrid::test {

struct RunningTunnelServer {
  std::unique_ptr<tunnel::TunnelServer> server;

  explicit RunningTunnelServer(const tunnel::ServerConfig& config = {}) {
    auto s = tunnel::TunnelServer::create(config);
    REQUIRE(s.ok());
    server = std::move(*s);
    server->start();
  }
  ~RunningTunnelServer() {
    server->stop();
    server->join();
  }
  RunningTunnelServer(const RunningTunnelServer&) = delete;
  RunningTunnelServer& operator=(const RunningTunnelServer&) = delete;
};

}  // namespace hybrid::test
