// `hybrid debug replay FILE [--json]`: a transcript a stranger may send a developer to
// debug interop. The input is the file: it must parse or be refused, replay or stop at a
// failing step, and the report must serialize as the command's --json output does
// (a thrown exception here would end `hybrid debug replay`). Seeds: tests/vectors/transcripts.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hybrid/replay.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr, false);
  if (j.is_discarded()) return 0;
  auto transcript = hybrid::parse_transcript(j);
  if (!transcript) return 0;
  auto report = hybrid::replay_transcript(*transcript);
  nlohmann::json out;
  out["ok"] = report.ok;
  out["steps"] = nlohmann::json::array();
  for (const auto& s : report.steps) out["steps"].push_back({{"step", s.name}, {"ok", s.ok}, {"detail", s.detail}});
  (void)out.dump(2);
  if (!report.ok && !report.failed_step()) abort();  // a failed replay must name its step
  // The transcript survives its own round trip.
  if (!hybrid::parse_transcript(hybrid::transcript_to_json(*transcript))) abort();
  return 0;
}
