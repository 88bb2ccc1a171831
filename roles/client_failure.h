// Why a client transaction failed, and what each failure means to the people and programs
// above: the one table that maps a failure to its stable name, its exit code, a sentence
// for a person, and whether a linked phone that failed this way is worth a QR code instead.
// The CLI, the bridge and the kiosk all read it; none keeps its own mapping.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/exit_code.h"
#include "base/result.h"

namespace hybrid::roles {

enum class ClientFailure {
  bluetooth = 1,      // no BlueZ, no adapter, powered off, blocked, no permission
  no_advert = 2,      // nothing matched before the advert timeout
  tunnel_status = 3,  // the tunnel server refused (HTTP status other than 410 on /contact)
  tls = 4,
  network = 5,
  handshake = 6,
  phone_closed = 7,   // the phone left before answering
  cancelled = 8,
  timeout = 9,        // the overall deadline
  link_gone = 10,     // 410 on /contact: the link was forgotten
  protocol = 11,      // the phone broke the protocol (bad post-handshake, bad frames)
  internal = 12,
};
HYBRID_ERROR_DOMAIN(ClientFailure, "client transaction")

struct ClientFailureInfo {
  ClientFailure failure;
  std::string_view name;       // stable, for logs and JSON: "no_advert", …
  ExitCode exit_code;          // what `hybrid sign-in` / `register` exit with
  // Tried with a linked phone, this failure says nothing against a QR code: the caller
  // should show one (the link is gone or the phone is unreachable right now).
  bool linked_falls_back_to_qr;
  std::string_view summary;    // what a person reads before the detailed message
};

const ClientFailureInfo& failure_info(ClientFailure f);
inline std::string_view failure_name(ClientFailure f) { return failure_info(f).name; }
inline ExitCode exit_code_for(ClientFailure f) { return failure_info(f).exit_code; }
inline bool linked_falls_back_to_qr(ClientFailure f) { return failure_info(f).linked_falls_back_to_qr; }

// The ClientFailure in an error from a ClientTransaction; nullopt for other errors.
inline std::optional<ClientFailure> failure_of(const Error& e) { return e.as<ClientFailure>(); }
// As failure_of, counting errors of any other domain as internal.
inline ClientFailure failure_or_internal(const Error& e) { return failure_of(e).value_or(ClientFailure::internal); }
// "the tunnel server could not be reached: <message>" for a person.
std::string explain_failure(const Error& e);

}  // namespace hybrid::roles
