// The tunnel client the PC and the software phone use: a WebSocket client for /new,
// /connect, /contact and /push over ws or wss (system CAs, or a CA file), offering the
// fido.cable subprotocol, with extra request headers, up to 5 redirects, and distinct
// errors for each way a connection can fail. Messages go both ways as whole binary
// WebSocket messages.
//
// Two interfaces:
//  * ClientContext + ClientEvents: event-driven. One lws context and one service thread
//    carry any number of connections; events are delivered on that thread.
//  * TunnelConnection: blocking helper for simple programs and tests: connect() with a
//    timeout, send(), receive(timeout).
//
// Thread safety: ClientContext::open, ClientConnection::send/close and every
// TunnelConnection method may be called from any thread. ClientEvents callbacks run on
// the context's service thread: do not block in them, and do not destroy the context
// from inside one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "hybrid/ids.h"

namespace hybrid::tunnel {

// Error::code values of client errors. A refused upgrade carries its HTTP status in the
// HttpStatus domain instead (use http_status() / is_gone()).
enum class ClientErrorCode : int {
  invalid_url = 1,        // the URL (or a redirect's Location) is not a ws/wss URL
  tls = 2,                // TLS handshake or certificate verification failed
  timeout = 3,            // no successful upgrade within ConnectOptions::timeout
  network = 4,            // DNS, connection refused or reset, lost connection
  peer_closed = 5,        // the server (or the peer through it) closed an open tunnel
  too_many_redirects = 6, // more than ConnectOptions::max_redirects
  protocol = 7,           // bad routing-id header, no fido.cable, text frame, message too big
  closed_locally = 8,     // close() was called
  receive_timeout = 9,    // TunnelConnection::receive() waited in vain (the tunnel is still up)
};
HYBRID_ERROR_DOMAIN(ClientErrorCode, "tunnel client")
// The status of a refused WebSocket upgrade (any HTTP status, e.g. HttpStatus{410}).
enum class HttpStatus : int {};
HYBRID_ERROR_DOMAIN(HttpStatus, "http status")

// The refused upgrade's HTTP status, or 0 if `error` is not an HTTP status error.
int http_status(const Error& error);
// 410 Gone: for /contact, the contact id is permanently invalid (forget the link).
bool is_gone(const Error& error);
bool has_code(const Error& error, ClientErrorCode code);

struct ConnectOptions {
  // Extra request headers, e.g. {"X-caBLE-Client-Payload", hex} — re-sent after redirects.
  std::vector<std::pair<std::string, std::string>> headers;
  // PEM file with the CA certificates to trust instead of the system store (private
  // servers, tests). Used when the connection creates its own context.
  std::string ca_file;
  // Covers DNS, TCP, TLS, the upgrade and every redirect.
  std::chrono::milliseconds timeout{10000};
  int max_redirects = 5;
  // Largest incoming message; bigger closes the connection with 1009 (Chromium: 1 MiB).
  size_t max_message_size = size_t{1} << 20;
};

struct OpenInfo {
  std::string url;                       // after redirects
  int redirects = 0;
  std::optional<RoutingId> routing_id;   // X-caBLE-Routing-ID (answers to /new)
  bool signal_connection = false;        // the server echoed X-caBLE-Signal-Connection
  // X-caBLE-Push-Idle-Timeout (answers to /push): seconds the server waits for a keepalive.
  std::optional<int64_t> push_idle_timeout_seconds;
};

// A peer's WebSocket close reason made safe to print and to put in JSON: bytes that are
// not printable ASCII become '?', and it is cut to 123 bytes (the most a close frame holds).
std::string printable_close_reason(std::string_view raw);

struct ClientEvents {
  std::function<void(const OpenInfo&)> on_open;
  std::function<void(Bytes)> on_message;
  // Called exactly once, last: why the connection failed or ended.
  std::function<void(const Error&)> on_close;
};

class ClientContext;

// A handle to one connection of a ClientContext.
class ClientConnection {
 public:
  // Queues one binary message (sent once the connection is open).
  void send(Bytes message);
  // Closes with `code` after queued messages are sent; on_close then reports closed_locally.
  void close(uint16_t code = 1000);

  struct State;
  explicit ClientConnection(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

struct ClientContextOptions {
  std::string ca_file;  // see ConnectOptions::ca_file; empty = system CA store
};

class ClientContext {
 public:
  static Result<std::shared_ptr<ClientContext>> create(const ClientContextOptions& options = {});
  ~ClientContext();  // closes every connection (on_close reports closed_locally)

  // Starts connecting; failures (including a bad URL) arrive through events.on_close.
  std::shared_ptr<ClientConnection> open(std::string url, ConnectOptions options, ClientEvents events);

  struct Impl;

 private:
  explicit ClientContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Blocking helper over a private ClientContext.
class TunnelConnection {
 public:
  // A stop requested on `stop` before the upgrade ends the attempt at once (kClosedLocally).
  static Result<std::unique_ptr<TunnelConnection>> connect(const std::string& url,
                                                           const ConnectOptions& options = {},
                                                           std::stop_token stop = {});
  ~TunnelConnection();

  const OpenInfo& info() const { return info_; }
  // Fails once the connection has ended.
  Status send(ByteView message);
  // The next message; receive_timeout if none arrives in time; after the end, the error
  // that ended it (peer_closed with the close code in the message, …).
  Result<Bytes> receive(std::chrono::milliseconds timeout);
  void close(uint16_t code = 1000);
  // True once the connection has ended and every received message has been taken.
  bool finished();

 private:
  TunnelConnection() = default;
  struct Inbox {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Bytes> messages;
    std::optional<OpenInfo> opened;
    std::optional<Error> ended;
  };
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>();
  std::shared_ptr<ClientContext> context_;
  std::shared_ptr<ClientConnection> conn_;
  OpenInfo info_;
};

}  // namespace hybrid::tunnel
