// The tunnel node's settings and its JSON configuration file (docs/tunnel.md lists every
// key). One table (config_fields()) names each key, its command-line flag and help text, its
// type and range, and whether a running node can take a new value on SIGHUP (live) or needs a
// restart. Parsing is pure: errors name the key and its line. Adding a setting = one member
// in ServeSettings, one row in the table, one line where it is used.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "tunnel/server.h"

namespace hybrid::tunnel {

// Everything `hybrid tunnel serve` can be told, from flags or the file. Integers left at 0
// take the built-in default (limits.h).
struct ServeSettings {
  std::string listen = "127.0.0.1:0";
  std::string tls_cert, tls_key, routing_id;
  std::string registration_store;  // "" = memory; redis://HOST:PORT = shared by the nodes
  std::string log_level;   // "" = $HYBRID_LOG or info
  std::string log_format;  // "" = text
  bool log_json = false;   // the older spelling of log_format json
  bool trust_forwarded_for = false;
  int64_t ttl = 0, handshake_timeout = 0, idle_timeout = 0, push_idle_timeout = 0;
  int64_t max_messages = 0, max_message_size = 0, max_pending_per_ip = 0, max_connections = 0;
  int64_t max_push_registrations = 0, max_queued_pushes = 0, max_refusals = 0, max_header_bytes = 0;
  int64_t max_push_registrations_per_ip = 0, push_registration_lifetime = 0, max_connections_per_ip = 0;
  int64_t max_queued_bytes = 0;
};

enum class Reload {
  live,     // SIGHUP applies it to the running node; open tunnels stay
  restart,  // the node must be restarted (a socket, a certificate, an lws context setting)
};

struct ConfigField {
  std::string_view key;   // in the file
  std::string_view flag;  // on the command line
  std::string_view help;  // the flag's --help text
  Reload reload;
  std::variant<std::string ServeSettings::*, bool ServeSettings::*, int64_t ServeSettings::*> member;
  int64_t min = 0, max = 0;                                  // integers: the allowed range
  Status (*validate)(const std::string& value) = nullptr;   // strings
};

const std::vector<ConfigField>& config_fields();
const ConfigField* find_field(std::string_view key);

// A parsed and validated file: its values, and which keys it set on which line.
struct ConfigFile {
  std::string path;
  ServeSettings values;
  struct Present {
    const ConfigField* field;
    int line;
  };
  std::vector<Present> present;
};

// `path` is only used in messages ("tunnel.json line 7: …").
Result<ConfigFile> parse_config_text(std::string_view text, const std::string& path);
Result<ConfigFile> read_config_file(const std::string& path);

// Copies the file's values onto `settings`, except keys whose flag `pinned` says was given
// on the command line (flags win).
void apply_config(const ConfigFile& file, ServeSettings& settings,
                  const std::function<bool(std::string_view flag)>& pinned);

// Keys whose value differs between two settings.
std::vector<const ConfigField*> changed_fields(const ServeSettings& before, const ServeSettings& after);

// Checks what the table cannot (tls_cert without tls_key, ranges of flags) and builds the
// server's configuration. A missing routing id is drawn at random.
Result<ServerConfig> server_config(const ServeSettings& settings);
// The limits part alone (what a reload may change).
Result<ServerLimits> server_limits(const ServeSettings& settings);

// "json" when log_format says so or log_json is set.
bool wants_json_logs(const ServeSettings& settings);

// "HOST:PORT" → host and port; "[::1]:0" works.
Result<std::pair<std::string, uint16_t>> split_listen(const std::string& listen);

}  // namespace hybrid::tunnel
