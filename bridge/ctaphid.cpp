#include "bridge/ctaphid.h"

#include <algorithm>
#include <stdexcept>

#include "base/log.h"
#include "crypto/primitives.h"

namespace hybrid::bridge {
namespace {

constexpr std::string_view kStage = "ctaphid";

ChannelId read_channel(const Report& r) {
  return (ChannelId(r[0]) << 24) | (ChannelId(r[1]) << 16) | (ChannelId(r[2]) << 8) | ChannelId(r[3]);
}

void write_channel(Report& r, ChannelId channel) {
  r[0] = uint8_t(channel >> 24);
  r[1] = uint8_t(channel >> 16);
  r[2] = uint8_t(channel >> 8);
  r[3] = uint8_t(channel);
}

bool is_known_command(uint8_t command) {
  switch (static_cast<CtaphidCommand>(command)) {
    case CtaphidCommand::ping:
    case CtaphidCommand::msg:
    case CtaphidCommand::init:
    case CtaphidCommand::wink:
    case CtaphidCommand::cbor:
    case CtaphidCommand::cancel:
      return true;
    default:
      // LOCK is optional and not offered; KEEPALIVE and ERROR only flow device → host;
      // vendor commands (0x40–0x7f) mean nothing here.
      return false;
  }
}

}  // namespace

Packet parse_packet(const Report& report) {
  ChannelId channel = read_channel(report);
  if (report[4] & kInitPacketBit) {
    InitPacket p;
    p.channel = channel;
    p.command = report[4] & ~kInitPacketBit;
    p.message_length = uint16_t((uint16_t(report[5]) << 8) | report[6]);
    p.data = ByteView(report).subspan(7);
    return p;
  }
  ContinuationPacket p;
  p.channel = channel;
  p.sequence = report[4];
  p.data = ByteView(report).subspan(5);
  return p;
}

std::vector<Report> encode_message(ChannelId channel, uint8_t command, ByteView payload) {
  if (payload.size() > kMaxMessageSize) {
    throw std::invalid_argument("CTAPHID message of " + std::to_string(payload.size()) +
                                " bytes exceeds " + std::to_string(kMaxMessageSize));
  }
  std::vector<Report> out;
  Report first{};
  write_channel(first, channel);
  first[4] = uint8_t(command | kInitPacketBit);
  first[5] = uint8_t(payload.size() >> 8);
  first[6] = uint8_t(payload.size());
  size_t n = std::min(payload.size(), kInitPayloadCapacity);
  std::copy_n(payload.begin(), n, first.begin() + 7);
  out.push_back(first);
  size_t offset = n;
  uint8_t sequence = 0;
  while (offset < payload.size()) {
    Report cont{};
    write_channel(cont, channel);
    cont[4] = sequence++;
    size_t m = std::min(payload.size() - offset, kContPayloadCapacity);
    std::copy_n(payload.begin() + offset, m, cont.begin() + 5);
    out.push_back(cont);
    offset += m;
  }
  return out;
}

CtaphidServer::CtaphidServer(CtaphidOptions options) : options_(options) {
  if (options_.max_channels == 0) options_.max_channels = 1;
}

void CtaphidServer::on_report(const Report& report, TimePoint now) {
  auto packet = parse_packet(report);
  if (auto* init = std::get_if<InitPacket>(&packet)) {
    handle_init_packet(*init, now);
  } else {
    handle_continuation(std::get<ContinuationPacket>(packet), now);
  }
}

void CtaphidServer::handle_init_packet(const InitPacket& p, TimePoint now) {
  const ChannelId channel = p.channel;
  const uint8_t command = p.command;
  const bool is_init = command == uint8_t(CtaphidCommand::init);
  const bool is_cancel = command == uint8_t(CtaphidCommand::cancel);

  if (channel == kReservedChannel || (channel == kBroadcastChannel && !is_init) ||
      (channel != kBroadcastChannel && !is_allocated(channel))) {
    log::debug(kStage, "command 0x{:02x} on a channel that was never allocated", command);
    send_error(channel, CtaphidError::invalid_channel);
    return;
  }
  if (is_init && p.message_length != 8) {
    send_error(channel, CtaphidError::invalid_len);
    return;
  }

  if (state_ != State::idle) {
    if (channel == active_channel_) {
      if (is_init) {
        // Resynchronisation: the host gave up on whatever was in progress here.
        log::info(kStage, "INIT on a busy channel: dropping its transaction");
        abort_pending();
      } else if (is_cancel) {
        if (state_ == State::receiving) {
          state_ = State::idle;
          buffer_.clear();
        } else if (!cancel_signalled_) {
          cancel_signalled_ = true;
          events_.push_back({CtaphidEvent::Kind::cancel, transaction_, channel, {}});
        }
        return;
      } else if (state_ == State::receiving) {
        // A new message started before the last one was complete.
        state_ = State::idle;
        buffer_.clear();
        send_error(channel, CtaphidError::invalid_seq);
        return;
      } else {
        send_error(channel, CtaphidError::channel_busy);
        return;
      }
    } else if (is_cancel) {
      return;  // nothing of that channel's is in progress
    } else if (!is_init) {
      // One transaction at a time. INIT is exempt: it is a single packet that does not
      // touch the transaction, and refusing it would stop other programs from even
      // opening the device while a phone transaction runs.
      send_error(channel, CtaphidError::channel_busy);
      return;
    }
  }

  if (!is_known_command(command)) {
    send_error(channel, CtaphidError::invalid_cmd);
    return;
  }
  if (p.message_length > kMaxMessageSize) {
    send_error(channel, CtaphidError::invalid_len);
    return;
  }
  if (is_cancel) return;  // CANCEL with nothing pending on this channel: ignored

  if (p.message_length <= kInitPayloadCapacity) {
    dispatch(channel, command, Bytes(p.data.begin(), p.data.begin() + p.message_length), now);
    return;
  }
  state_ = State::receiving;
  active_channel_ = channel;
  receiving_command_ = command;
  expected_length_ = p.message_length;
  next_sequence_ = 0;
  buffer_.assign(p.data.begin(), p.data.end());
  receive_deadline_ = now + options_.message_timeout;
}

void CtaphidServer::handle_continuation(const ContinuationPacket& p, TimePoint now) {
  if (state_ != State::receiving || p.channel != active_channel_) {
    // A CONT without a message in progress on its channel (e.g. the rest of a message
    // that was refused as busy): nothing can be done with it, and answering each one
    // would queue stale errors for that host.
    return;
  }
  if (p.sequence != next_sequence_) {
    log::debug(kStage, "CONT sequence {} where {} was expected", p.sequence, next_sequence_);
    state_ = State::idle;
    buffer_.clear();
    send_error(p.channel, CtaphidError::invalid_seq);
    return;
  }
  size_t take = std::min(expected_length_ - buffer_.size(), p.data.size());
  buffer_.insert(buffer_.end(), p.data.begin(), p.data.begin() + take);
  ++next_sequence_;
  receive_deadline_ = now + options_.message_timeout;
  if (buffer_.size() == expected_length_) {
    state_ = State::idle;
    Bytes message = std::move(buffer_);
    buffer_.clear();
    dispatch(active_channel_, receiving_command_, std::move(message), now);
  }
}

void CtaphidServer::dispatch(ChannelId channel, uint8_t command, Bytes payload, TimePoint now) {
  if (channel != kBroadcastChannel) touch_channel(channel);
  switch (static_cast<CtaphidCommand>(command)) {
    case CtaphidCommand::ping:
      send(channel, command, payload);
      return;
    case CtaphidCommand::msg: {
      const uint8_t sw[2] = {uint8_t(kU2fSwInsNotSupported >> 8), uint8_t(kU2fSwInsNotSupported)};
      log::debug(kStage, "U2F message ({} bytes) answered with SW 6D00", payload.size());
      send(channel, command, sw);
      return;
    }
    case CtaphidCommand::init:
      handle_init_command(channel, payload);
      return;
    case CtaphidCommand::wink:
      if (!payload.empty()) {
        send_error(channel, CtaphidError::invalid_len);
        return;
      }
      send(channel, command, {});
      events_.push_back({CtaphidEvent::Kind::wink, 0, channel, {}});
      return;
    case CtaphidCommand::cbor:
      if (payload.empty()) {
        send_error(channel, CtaphidError::invalid_len);
        return;
      }
      state_ = State::processing;
      active_channel_ = channel;
      transaction_ = next_transaction_++;
      next_keepalive_ = now;
      cancel_signalled_ = false;
      events_.push_back({CtaphidEvent::Kind::cbor_request, transaction_, channel, std::move(payload)});
      return;
    default:
      send_error(channel, CtaphidError::invalid_cmd);
      return;
  }
}

void CtaphidServer::handle_init_command(ChannelId channel, ByteView nonce) {
  ChannelId assigned = channel == kBroadcastChannel ? allocate_channel() : channel;
  Bytes response(nonce.begin(), nonce.end());
  response.push_back(uint8_t(assigned >> 24));
  response.push_back(uint8_t(assigned >> 16));
  response.push_back(uint8_t(assigned >> 8));
  response.push_back(uint8_t(assigned));
  response.push_back(kCtaphidProtocolVersion);
  response.push_back(options_.version_major);
  response.push_back(options_.version_minor);
  response.push_back(options_.version_build);
  response.push_back(options_.capabilities);
  send(channel, uint8_t(CtaphidCommand::init), response);
}

void CtaphidServer::on_timer(TimePoint now) {
  if (state_ == State::receiving && now >= receive_deadline_) {
    log::debug(kStage, "message timed out after {} of {} bytes", buffer_.size(), expected_length_);
    state_ = State::idle;
    buffer_.clear();
    send_error(active_channel_, CtaphidError::msg_timeout);
  } else if (state_ == State::processing && now >= next_keepalive_) {
    const uint8_t status[1] = {uint8_t(options_.keepalive_status)};
    send(active_channel_, uint8_t(CtaphidCommand::keepalive), status);
    next_keepalive_ = now + options_.keepalive_interval;
  }
}

std::optional<TimePoint> CtaphidServer::next_deadline() const {
  switch (state_) {
    case State::receiving: return receive_deadline_;
    case State::processing: return next_keepalive_;
    case State::idle: return std::nullopt;
  }
  return std::nullopt;
}

void CtaphidServer::complete_cbor(TransactionId transaction, ByteView response) {
  if (state_ != State::processing || transaction != transaction_) return;
  state_ = State::idle;
  if (response.size() > kMaxMessageSize) {
    log::error(kStage, "a {}-byte CTAP response does not fit CTAPHID's {} bytes", response.size(),
               kMaxMessageSize);
    send_error(active_channel_, CtaphidError::other);
    return;
  }
  send(active_channel_, uint8_t(CtaphidCommand::cbor), response);
}

void CtaphidServer::reset() {
  abort_pending();
  channels_.clear();
  outbox_.clear();
}

std::optional<TransactionId> CtaphidServer::pending_transaction() const {
  if (state_ == State::processing) return transaction_;
  return std::nullopt;
}

std::optional<Report> CtaphidServer::next_report() {
  if (outbox_.empty()) return std::nullopt;
  Report r = outbox_.front();
  outbox_.pop_front();
  return r;
}

std::optional<CtaphidEvent> CtaphidServer::next_event() {
  if (events_.empty()) return std::nullopt;
  CtaphidEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void CtaphidServer::send(ChannelId channel, uint8_t command, ByteView payload) {
  for (const auto& r : encode_message(channel, command, payload)) outbox_.push_back(r);
}

void CtaphidServer::send_error(ChannelId channel, CtaphidError error) {
  const uint8_t code[1] = {uint8_t(error)};
  send(channel, uint8_t(CtaphidCommand::error), code);
}

bool CtaphidServer::is_allocated(ChannelId channel) const {
  return std::find(channels_.begin(), channels_.end(), channel) != channels_.end();
}

ChannelId CtaphidServer::allocate_channel() {
  // Unpredictable, so that another program on the HID bus cannot guess the next channel.
  ChannelId c;
  do {
    const auto r = crypto::random_array<4>();
    c = (ChannelId(r[0]) << 24) | (ChannelId(r[1]) << 16) | (ChannelId(r[2]) << 8) | r[3];
  } while (c == kReservedChannel || c == kBroadcastChannel || is_allocated(c));
  if (channels_.size() >= options_.max_channels) {
    // Forget the least recently used channel that has no transaction in progress.
    for (auto it = channels_.begin(); it != channels_.end(); ++it) {
      if (state_ != State::idle && *it == active_channel_) continue;
      channels_.erase(it);
      break;
    }
  }
  channels_.push_back(c);
  return c;
}

void CtaphidServer::touch_channel(ChannelId channel) {
  auto it = std::find(channels_.begin(), channels_.end(), channel);
  if (it == channels_.end()) return;
  channels_.erase(it);
  channels_.push_back(channel);
}

void CtaphidServer::abort_pending() {
  if (state_ == State::processing) {
    events_.push_back({CtaphidEvent::Kind::abort, transaction_, active_channel_, {}});
  }
  state_ = State::idle;
  buffer_.clear();
}

}  // namespace hybrid::bridge
