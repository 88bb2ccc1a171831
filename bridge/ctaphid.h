// CTAPHID (FIDO CTAP 2.1 §11.2, the USB HID transport): a sans-I/O codec for 64-byte
// reports and the authenticator-side channel state machine.
//
// Feed it reports from the host (on_report) and the current time (on_timer); take the
// reports to send back (next_report) and the events for the CTAP layer above
// (next_event). It has no threads, sleeps or clocks of its own: `now` is always an input,
// so tests drive it with a fake clock and the fuzzer with arbitrary sequences.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <variant>
#include <vector>

#include "base/bytes.h"

namespace hybrid::bridge {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

// --- Wire constants (CTAP 2.1 §11.2.4, §11.2.9) -------------------------------------
inline constexpr size_t kReportSize = 64;
inline constexpr size_t kInitPayloadCapacity = kReportSize - 7;  // CID, CMD, BCNTH, BCNTL
inline constexpr size_t kContPayloadCapacity = kReportSize - 5;  // CID, SEQ
inline constexpr uint8_t kMaxSequence = 0x7f;
// 57 + 128 × 59: the largest message 128 continuation packets can carry.
inline constexpr size_t kMaxMessageSize = kInitPayloadCapacity + (kMaxSequence + 1) * kContPayloadCapacity;
static_assert(kMaxMessageSize == 7609);
inline constexpr uint8_t kInitPacketBit = 0x80;

using Report = ByteArray<kReportSize>;
using ChannelId = uint32_t;
inline constexpr ChannelId kBroadcastChannel = 0xffffffff;
inline constexpr ChannelId kReservedChannel = 0;

enum class CtaphidCommand : uint8_t {
  ping = 0x01,
  msg = 0x03,
  lock = 0x04,
  init = 0x06,
  wink = 0x08,
  cbor = 0x10,
  cancel = 0x11,
  keepalive = 0x3b,
  error = 0x3f,
};

enum class CtaphidError : uint8_t {
  invalid_cmd = 0x01,
  invalid_par = 0x02,
  invalid_len = 0x03,
  invalid_seq = 0x04,
  msg_timeout = 0x05,
  channel_busy = 0x06,
  lock_required = 0x0a,
  invalid_channel = 0x0b,
  other = 0x7f,
};

enum class KeepaliveStatus : uint8_t { processing = 1, up_needed = 2 };

// CTAPHID_INIT response capability flags.
inline constexpr uint8_t kCapabilityWink = 0x01;
inline constexpr uint8_t kCapabilityCbor = 0x04;
inline constexpr uint8_t kCapabilityNmsg = 0x08;  // "does NOT implement CTAPHID_MSG"
inline constexpr uint8_t kCtaphidProtocolVersion = 2;

// The CTAP1/U2F status word every CTAPHID_MSG gets: "INS not supported". Phones do not
// speak U2F, so there is nothing to forward (and NMSG says so in the INIT response).
inline constexpr uint16_t kU2fSwInsNotSupported = 0x6d00;

// --- Packet codec ---------------------------------------------------------------------
struct InitPacket {
  ChannelId channel = 0;
  uint8_t command = 0;          // without the 0x80 bit
  uint16_t message_length = 0;  // BCNT: the whole message, not this packet
  ByteView data;                // the 57 bytes after the header (may hold padding)
};
struct ContinuationPacket {
  ChannelId channel = 0;
  uint8_t sequence = 0;
  ByteView data;  // the 59 bytes after the header
};
using Packet = std::variant<InitPacket, ContinuationPacket>;

// Splits a report into its header fields. Every 64-byte report parses; the views point
// into `report`, which must outlive the result.
Packet parse_packet(const Report& report);

// Splits one message into reports (an INIT packet then CONT packets, zero-padded).
// An empty payload still makes one INIT packet. Payloads above kMaxMessageSize are a
// programming error (std::invalid_argument).
std::vector<Report> encode_message(ChannelId channel, uint8_t command, ByteView payload);

// --- State machine ---------------------------------------------------------------------
// Identifies one CBOR transaction, so that a late answer for an aborted one is dropped.
using TransactionId = uint64_t;

struct CtaphidEvent {
  enum class Kind {
    cbor_request,  // a complete CTAPHID_CBOR message: answer with complete_cbor()
    cancel,        // the host sent CANCEL for the pending CBOR request; it still needs an
                   // answer (CTAP2_ERR_KEEPALIVE_CANCEL) through complete_cbor()
    abort,         // the pending CBOR request is gone (channel resynchronised by INIT, or
                   // reset()); no answer will be sent, stop the work behind it
    wink,          // the host asked the device to identify itself
  };
  Kind kind;
  TransactionId transaction = 0;
  ChannelId channel = 0;
  Bytes payload;  // cbor_request: CTAP command byte ‖ CBOR parameters
};

struct CtaphidOptions {
  // A message whose next CONT packet does not arrive within this time is dropped with
  // ERR_MSG_TIMEOUT (measured from the previous packet of the same message).
  Millis message_timeout{500};
  // While a CBOR request is pending, a KEEPALIVE goes out at once and then at this period.
  Millis keepalive_interval{100};
  KeepaliveStatus keepalive_status = KeepaliveStatus::up_needed;
  // Channels remembered at once; allocating past this forgets the oldest idle one.
  size_t max_channels = 128;
  // Device version in the INIT response (major, minor, build).
  uint8_t version_major = 0, version_minor = 1, version_build = 0;
  uint8_t capabilities = kCapabilityWink | kCapabilityCbor | kCapabilityNmsg;
};

class CtaphidServer {
 public:
  explicit CtaphidServer(CtaphidOptions options = {});

  // One report from the host.
  void on_report(const Report& report, TimePoint now);
  // Lets time pass: message timeouts and keepalives. Call it at next_deadline() (calling
  // it earlier or more often is harmless).
  void on_timer(TimePoint now);
  // When on_timer next has something to do, if anything.
  std::optional<TimePoint> next_deadline() const;

  // Answers the pending CBOR request `transaction` with `response` (status ‖ CBOR).
  // Ignored when that transaction is no longer pending (aborted, or already answered).
  void complete_cbor(TransactionId transaction, ByteView response);

  // Forgets every channel and drops any message in progress (the host closed the device).
  // A pending CBOR request ends with an abort event.
  void reset();

  std::optional<Report> next_report();
  std::optional<CtaphidEvent> next_event();

  // For tests and logs.
  bool busy() const { return state_ != State::idle; }
  std::optional<TransactionId> pending_transaction() const;
  size_t allocated_channels() const { return channels_.size(); }

 private:
  enum class State { idle, receiving, processing };

  void handle_init_packet(const InitPacket& p, TimePoint now);
  void handle_continuation(const ContinuationPacket& p, TimePoint now);
  void dispatch(ChannelId channel, uint8_t command, Bytes payload, TimePoint now);
  void handle_init_command(ChannelId channel, ByteView nonce);
  void send(ChannelId channel, uint8_t command, ByteView payload);
  void send_error(ChannelId channel, CtaphidError error);
  bool is_allocated(ChannelId channel) const;
  ChannelId allocate_channel();
  void touch_channel(ChannelId channel);
  void abort_pending();

  CtaphidOptions options_;
  State state_ = State::idle;
  // The channel that owns the current transaction (receiving or processing).
  ChannelId active_channel_ = 0;
  // Reassembly.
  uint8_t receiving_command_ = 0;
  size_t expected_length_ = 0;
  uint8_t next_sequence_ = 0;
  Bytes buffer_;
  TimePoint receive_deadline_{};
  // Processing.
  TransactionId transaction_ = 0;
  TransactionId next_transaction_ = 1;
  TimePoint next_keepalive_{};
  bool cancel_signalled_ = false;
  // Allocated channels, oldest first.
  std::deque<ChannelId> channels_;

  std::deque<Report> outbox_;
  std::deque<CtaphidEvent> events_;
};

}  // namespace hybrid::bridge
