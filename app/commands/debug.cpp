// `hybrid debug …`: interop debugging tools. `replay` re-runs the client side of a
// recorded transaction from its key log and transcript and says which step fails.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/command_registry.h"
#include "app/exit_codes.h"
#include "hybrid/replay.h"

namespace hybrid::app {
namespace {

struct ReplayArgs {
  std::string file;
  bool json = false;
};

int run_replay(const ReplayArgs& args) {
  nlohmann::json j;
  try {
    if (args.file == "-") {
      j = nlohmann::json::parse(std::cin);
    } else {
      std::ifstream in(args.file);
      if (!in) {
        std::fprintf(stderr, "hybrid debug replay: cannot open %s\n", args.file.c_str());
        return kInvalidInput;
      }
      j = nlohmann::json::parse(in);
    }
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "hybrid debug replay: %s is not valid JSON: %s\n", args.file.c_str(), e.what());
    return kInvalidInput;
  }
  auto transcript = parse_transcript(j);
  if (!transcript) {
    std::fprintf(stderr, "hybrid debug replay: %s\n", transcript.error().message.c_str());
    return kInvalidInput;
  }
  auto report = replay_transcript(*transcript);
  if (args.json) {
    nlohmann::json out;
    out["ok"] = report.ok;
    out["steps"] = nlohmann::json::array();
    for (const auto& s : report.steps) out["steps"].push_back({{"step", s.name}, {"ok", s.ok}, {"detail", s.detail}});
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& s : report.steps) {
      std::printf("%s %-34s %s\n", s.ok ? "ok  " : "FAIL", s.name.c_str(), s.detail.c_str());
    }
    if (const auto* f = report.failed_step()) {
      std::printf("\nThe replay stops at \"%s\": %s\n", f->name.c_str(), f->detail.c_str());
    } else {
      std::printf("\nEvery step succeeded.\n");
    }
  }
  return report.ok ? kOk : kHandshakeFailed;
}

CommandRegistration reg("debug", 90, [](CLI::App& root) {
  auto* debug = root.add_subcommand("debug", "Interop debugging: replay a recorded transaction.");
  debug->require_subcommand(1);
  auto args = std::make_shared<ReplayArgs>();
  auto* replay = debug->add_subcommand(
      "replay",
      "Replay the client side of a transaction from a transcript (JSON, the tests/vectors/transcripts\n"
      "schema): the keys written by HYBRID_KEYLOG=FILE, the QR code, the advert and the phone's\n"
      "messages in order. Prints every derived value (EID key, tunnel ID, PSK, handshake hash,\n"
      "traffic keys) and every decrypted message, and names the step that fails.\n"
      "The output contains secrets: share it only for debugging your own devices.");
  replay->add_option("file", args->file, "transcript file (- for standard input)")->required();
  replay->add_flag("--json", args->json, "print the steps as JSON");
  replay->callback([args] { set_exit_code(run_replay(*args)); });
});

}  // namespace
}  // namespace hybrid::app
