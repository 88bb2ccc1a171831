// `hybrid qr decode|show`: read a FIDO:/ QR string and print every field as JSON, or draw
// a QR code (given or fresh) in the terminal and to PNG/SVG files.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "cbor/codec.h"
#include "crypto/p256.h"
#include "crypto/primitives.h"
#include "qr/digits.h"
#include "qr/payload.h"
#include "qr/render.h"

namespace hybrid::app {
namespace {

struct DecodeArgs {
  std::string input;
  bool pretty = false;
};

struct ShowArgs {
  std::string url;
  std::string png;
  std::string svg;
  bool invert = false;
  std::string request_type = "ga";
  bool linking = false;
  bool no_terminal = false;
  int module_px = 8;
};

// ISO-8601 UTC ("2022-10-24T05:24:11Z"), or nothing past the year 9999.
std::optional<std::string> iso8601_utc(uint64_t unix_seconds) {
  if (unix_seconds > 253402300799ULL) return std::nullopt;
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::nullopt;
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return std::nullopt;
  return std::string(buf);
}

// Fields in a fixed, readable order (ordered_json keeps insertion order).
nlohmann::ordered_json describe(const qr::QrPayload& p) {
  using json = nlohmann::ordered_json;
  Bytes cbor = qr::encode_cbor(p);
  auto opt = [](const auto& o) -> json { return o ? json(*o) : json(nullptr); };
  json unknown = json::array();
  for (const auto& [k, v] : p.unknown_keys) {
    unknown.push_back({{"key", cbor::to_diagnostic(k)}, {"value", cbor::to_diagnostic(v)}});
  }
  json keys = json::array();
  auto decoded = cbor::decode(cbor);
  if (decoded.ok()) {
    for (const auto& [k, _] : decoded->as_map()) keys.push_back(cbor::to_diagnostic(k));
  }
  json out;
  out["public_key"] = hex_encode(p.identity_key.compressed());
  out["public_key_uncompressed"] = hex_encode(p.identity_key.uncompressed());
  out["secret"] = hex_encode(p.secret);
  out["known_domains"] = opt(p.known_domains);
  out["timestamp"] = opt(p.timestamp);
  out["timestamp_iso"] = p.timestamp ? opt(iso8601_utc(*p.timestamp)) : json(nullptr);
  out["supports_linking"] = opt(p.supports_linking);
  out["request_type"] = std::string(qr::request_type_hint(p.request_type()));
  out["request_hint"] = opt(p.request_hint);
  out["key6"] = p.key6 ? json(cbor::to_diagnostic(*p.key6, 256)) : json(nullptr);
  out["unknown_keys"] = unknown;
  out["keys"] = keys;
  out["cbor"] = hex_encode(cbor);
  out["length_bytes"] = cbor.size();
  out["length_digits"] = qr::digits_length(cbor.size());
  return out;
}

// Reads all of stdin, without one trailing line ending (what `echo` or a file adds).
std::string read_stdin_line() {
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

int run_decode(const DecodeArgs& args) {
  std::string text = args.input == "-" ? read_stdin_line() : args.input;
  auto payload = qr::parse_url(text);
  if (!payload.ok()) {
    std::fprintf(stderr, "hybrid qr decode: invalid QR code: %s\n", payload.error().message.c_str());
    return kInvalidInput;
  }
  // Text fields may hold any valid UTF-8; replace rather than throw if that ever changes.
  std::string json = describe(*payload).dump(args.pretty ? 2 : -1, ' ', false,
                                             nlohmann::ordered_json::error_handler_t::replace);
  std::printf("%s\n", json.c_str());
  return kOk;
}

bool write_file(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), std::streamsize(data.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "hybrid qr show: could not write %s\n", path.c_str());
    return false;
  }
  return true;
}

int run_show(const ShowArgs& args) {
  std::string url;
  if (!args.url.empty()) {
    auto payload = qr::parse_url(args.url);
    if (!payload.ok()) {
      std::fprintf(stderr, "hybrid qr show: invalid QR code: %s\n", payload.error().message.c_str());
      return kInvalidInput;
    }
    url = qr::encode_url(*payload);  // the same payload with the canonical upper-case prefix
  } else {
    auto type = qr::request_type_from_hint(args.request_type);
    auto key = crypto::P256KeyPair::generate();
    auto payload = qr::make_client_payload(
        key.public_key(), crypto::random_array<16>(), type,
        args.linking ? std::optional<bool>(true) : std::nullopt,
        static_cast<uint64_t>(std::time(nullptr)));
    url = qr::encode_url(payload);
    std::fprintf(stderr,
                 "hybrid qr show: a fresh payload for display only; its private key is discarded, "
                 "so a phone that scans it cannot complete a sign-in\n");
  }
  if (!args.png.empty()) {
    auto png = qr::render_png(url, args.module_px);
    if (!png.ok()) {
      std::fprintf(stderr, "hybrid qr show: %s\n", png.error().message.c_str());
      return kInvalidInput;
    }
    if (!write_file(args.png, to_string(*png))) return kInternalError;
  }
  if (!args.svg.empty()) {
    auto svg = qr::render_svg(url, args.module_px);
    if (!svg.ok()) {
      std::fprintf(stderr, "hybrid qr show: %s\n", svg.error().message.c_str());
      return kInvalidInput;
    }
    if (!write_file(args.svg, *svg)) return kInternalError;
  }
  if (!args.no_terminal) {
    auto text = qr::render_terminal(url, args.invert);
    if (!text.ok()) {
      std::fprintf(stderr, "hybrid qr show: %s\n", text.error().message.c_str());
      return kInvalidInput;
    }
    std::fputs(text->c_str(), stdout);
  }
  std::printf("%s\n", url.c_str());
  return kOk;
}

void install(CLI::App& root) {
  auto* qr = root.add_subcommand(
      "qr", "Read and draw hybrid (caBLE v2) FIDO:/ QR codes.\n"
            "A FIDO:/ code carries the client's identity key and a one-time secret as a CBOR\n"
            "map written in decimal digits (CTAP 2.2 hybrid transport).");
  qr->require_subcommand(1);

  auto decode_args = std::make_shared<DecodeArgs>();
  auto* decode = qr->add_subcommand(
      "decode",
      "Print every field of a FIDO:/ QR string as one JSON object on stdout:\n"
      "public_key (compressed hex) and public_key_uncompressed, secret, known_domains (key 2),\n"
      "timestamp (key 3) and timestamp_iso (UTC), supports_linking (key 4), request_type\n"
      "(ga|mc|dcp, unknown hints count as ga) and request_hint (key 5 as sent), key6 and\n"
      "unknown_keys in CBOR diagnostic notation, keys (the map's keys in order), cbor (hex),\n"
      "length_bytes and length_digits. An absent optional key is null.\n"
      "Malformed input exits 3 with a message on stderr saying what is wrong.");
  decode->add_option("URL", decode_args->input,
                     "the text of the QR code, FIDO:/ followed by digits (prefix in any case); "
                     "- reads it from stdin (one trailing newline is ignored)")
      ->required();
  decode->add_flag("--pretty", decode_args->pretty, "indent the JSON");
  decode->callback([decode_args] { set_exit_code(run_decode(*decode_args)); });

  auto show_args = std::make_shared<ShowArgs>();
  auto* show = qr->add_subcommand(
      "show",
      "Draw a FIDO:/ QR code in the terminal (UTF-8 half blocks, black on white whatever the\n"
      "terminal's theme) and optionally to PNG/SVG files, then print its URL on stdout.\n"
      "Without URL, draws a fresh payload {0: new key, 1: random secret, 2: 2, 3: now, 5: hint}\n"
      "for display only (its private key is not kept).");
  show->add_option("URL", show_args->url, "a FIDO:/ string to draw (validated first)");
  show->add_option("--png", show_args->png, "also write the code as a PNG file");
  show->add_option("--svg", show_args->svg, "also write the code as an SVG file");
  show->add_option("--module-px", show_args->module_px, "pixels per module in PNG/SVG (1-100)")
      ->default_val(8)
      ->check(CLI::Range(1, 100));
  show->add_flag("--invert", show_args->invert,
                 "draw light modules as glyphs: for a dark terminal that ignores colours");
  show->add_flag("--no-terminal", show_args->no_terminal,
                 "do not draw in the terminal (only the files and the URL)");
  auto* type = show->add_option("--request-type", show_args->request_type,
                                "request-type hint of a fresh payload: ga (sign in), mc "
                                "(register) or dcp (digital credential)")
                   ->check(CLI::IsMember({"ga", "mc", "dcp"}))
                   ->default_val("ga");
  auto* linking = show->add_flag("--linking", show_args->linking,
                                 "a fresh payload offers linking (key 4 = true); without it key 4 "
                                 "is left out");
  show->callback([show_args, type, linking] {
    if (!show_args->url.empty() && (type->count() > 0 || linking->count() > 0)) {
      std::fprintf(stderr,
                   "hybrid qr show: --request-type and --linking only apply to a fresh payload, "
                   "not to a given URL\n");
      set_exit_code(kUsage);
      return;
    }
    set_exit_code(run_show(*show_args));
  });
}

const CommandRegistration kRegistration("qr", 60, install);

}  // namespace
}  // namespace hybrid::app
