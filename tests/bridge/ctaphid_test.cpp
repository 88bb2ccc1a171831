// CTAPHID codec and channel state machine: every error path, reassembly, sequence errors,
// timeouts, busy channels, broadcast INIT, KEEPALIVE cadence (fake clock).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "bridge/ctaphid.h"

using namespace hybrid;
using namespace hybrid::bridge;
using namespace std::chrono_literals;

namespace {

const TimePoint T0 = TimePoint{} + std::chrono::hours(1);

struct Message {
  ChannelId channel = 0;
  uint8_t command = 0;
  Bytes payload;
};

// Reassembles everything the server sent (in order) into messages; fails the test on
// malformed output.
std::vector<Message> drain(CtaphidServer& s) {
  std::vector<Message> out;
  std::optional<Message> current;
  size_t expected = 0;
  uint8_t seq = 0;
  while (auto r = s.next_report()) {
    auto p = parse_packet(*r);
    if (auto* init = std::get_if<InitPacket>(&p)) {
      REQUIRE_FALSE(current.has_value());
      current = Message{init->channel, init->command, {}};
      expected = init->message_length;
      size_t n = std::min<size_t>(expected, kInitPayloadCapacity);
      current->payload.assign(init->data.begin(), init->data.begin() + n);
      seq = 0;
    } else {
      auto& cont = std::get<ContinuationPacket>(p);
      REQUIRE(current.has_value());
      REQUIRE(cont.channel == current->channel);
      REQUIRE(cont.sequence == seq++);
      size_t n = std::min<size_t>(expected - current->payload.size(), kContPayloadCapacity);
      current->payload.insert(current->payload.end(), cont.data.begin(), cont.data.begin() + n);
    }
    if (current && current->payload.size() == expected) {
      out.push_back(*current);
      current.reset();
    }
  }
  REQUIRE_FALSE(current.has_value());
  return out;
}

Message only(CtaphidServer& s) {
  auto all = drain(s);
  REQUIRE(all.size() == 1);
  return all[0];
}

void send(CtaphidServer& s, ChannelId ch, CtaphidCommand cmd, ByteView payload, TimePoint now = T0) {
  for (const auto& r : encode_message(ch, uint8_t(cmd), payload)) s.on_report(r, now);
}

Report init_packet(ChannelId ch, uint8_t cmd, uint16_t bcnt, ByteView data = {}) {
  Report r{};
  r[0] = uint8_t(ch >> 24);
  r[1] = uint8_t(ch >> 16);
  r[2] = uint8_t(ch >> 8);
  r[3] = uint8_t(ch);
  r[4] = uint8_t(cmd | 0x80);
  r[5] = uint8_t(bcnt >> 8);
  r[6] = uint8_t(bcnt);
  std::copy_n(data.begin(), std::min<size_t>(data.size(), 57), r.begin() + 7);
  return r;
}

Report cont_packet(ChannelId ch, uint8_t seq, ByteView data = {}) {
  Report r{};
  r[0] = uint8_t(ch >> 24);
  r[1] = uint8_t(ch >> 16);
  r[2] = uint8_t(ch >> 8);
  r[3] = uint8_t(ch);
  r[4] = seq;
  std::copy_n(data.begin(), std::min<size_t>(data.size(), 59), r.begin() + 5);
  return r;
}

void expect_error(CtaphidServer& s, ChannelId ch, CtaphidError e) {
  auto m = only(s);
  CHECK(m.channel == ch);
  CHECK(m.command == uint8_t(CtaphidCommand::error));
  REQUIRE(m.payload.size() == 1);
  CHECK(m.payload[0] == uint8_t(e));
}

ChannelId allocate(CtaphidServer& s) {
  const Bytes nonce{1, 2, 3, 4, 5, 6, 7, 8};
  send(s, kBroadcastChannel, CtaphidCommand::init, nonce);
  auto m = only(s);
  REQUIRE(m.command == uint8_t(CtaphidCommand::init));
  REQUIRE(m.payload.size() == 17);
  return (ChannelId(m.payload[8]) << 24) | (ChannelId(m.payload[9]) << 16) | (ChannelId(m.payload[10]) << 8) |
         m.payload[11];
}

Bytes pattern(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = uint8_t(i * 7 + 3);
  return b;
}

}  // namespace

TEST_CASE("codec: message sizes map to packet counts and round-trip") {
  CHECK(encode_message(1, 0x10, {}).size() == 1);
  CHECK(encode_message(1, 0x10, pattern(57)).size() == 1);
  CHECK(encode_message(1, 0x10, pattern(58)).size() == 2);
  CHECK(encode_message(1, 0x10, pattern(57 + 59)).size() == 2);
  CHECK(encode_message(1, 0x10, pattern(57 + 59 + 1)).size() == 3);
  auto max = encode_message(0xdeadbeef, 0x10, pattern(kMaxMessageSize));
  CHECK(max.size() == 129);
  CHECK(max.back()[4] == 0x7f);  // last sequence number
  CHECK_THROWS(encode_message(1, 0x10, pattern(kMaxMessageSize + 1)));

  auto reports = encode_message(0x01020304, 0x10, pattern(100));
  auto p = parse_packet(reports[0]);
  auto& init = std::get<InitPacket>(p);
  CHECK(init.channel == 0x01020304);
  CHECK(init.command == 0x10);
  CHECK(init.message_length == 100);
  CHECK(reports[0][4] == 0x90);
  auto q = parse_packet(reports[1]);
  CHECK(std::get<ContinuationPacket>(q).sequence == 0);
  // Padding is zero.
  CHECK(reports[1][5 + 43] == 0);
}

TEST_CASE("broadcast INIT allocates distinct channels and echoes the nonce") {
  CtaphidServer s;
  const Bytes nonce{9, 8, 7, 6, 5, 4, 3, 2};
  send(s, kBroadcastChannel, CtaphidCommand::init, nonce);
  auto m = only(s);
  CHECK(m.channel == kBroadcastChannel);
  CHECK(m.command == uint8_t(CtaphidCommand::init));
  REQUIRE(m.payload.size() == 17);
  CHECK(Bytes(m.payload.begin(), m.payload.begin() + 8) == nonce);
  ChannelId cid = (ChannelId(m.payload[8]) << 24) | (ChannelId(m.payload[9]) << 16) |
                  (ChannelId(m.payload[10]) << 8) | m.payload[11];
  CHECK(cid != kBroadcastChannel);
  CHECK(cid != kReservedChannel);
  CHECK(m.payload[12] == 2);                                     // CTAPHID protocol version
  CHECK(m.payload[16] == (kCapabilityWink | kCapabilityCbor | kCapabilityNmsg));
  ChannelId second = allocate(s);
  CHECK(second != cid);
  CHECK(s.allocated_channels() == 2);
}

TEST_CASE("INIT on an allocated channel resynchronises it and keeps its id") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  const Bytes nonce{1, 1, 1, 1, 2, 2, 2, 2};
  send(s, cid, CtaphidCommand::init, nonce);
  auto m = only(s);
  CHECK(m.channel == cid);
  CHECK(Bytes(m.payload.begin(), m.payload.begin() + 8) == nonce);
  ChannelId echoed = (ChannelId(m.payload[8]) << 24) | (ChannelId(m.payload[9]) << 16) |
                     (ChannelId(m.payload[10]) << 8) | m.payload[11];
  CHECK(echoed == cid);
}

TEST_CASE("channel errors: reserved, unallocated, non-INIT on broadcast") {
  CtaphidServer s;
  send(s, kReservedChannel, CtaphidCommand::ping, Bytes{1});
  expect_error(s, kReservedChannel, CtaphidError::invalid_channel);
  send(s, 0x12345678, CtaphidCommand::ping, Bytes{1});
  expect_error(s, 0x12345678, CtaphidError::invalid_channel);
  send(s, 0x12345678, CtaphidCommand::init, Bytes(8, 1));
  expect_error(s, 0x12345678, CtaphidError::invalid_channel);
  send(s, kBroadcastChannel, CtaphidCommand::cbor, Bytes{4});
  expect_error(s, kBroadcastChannel, CtaphidError::invalid_channel);
  // A CONT packet with nothing in progress is ignored, whatever its channel.
  s.on_report(cont_packet(0x12345678, 0), T0);
  CHECK_FALSE(s.next_report().has_value());
}

TEST_CASE("length errors: INIT nonce size, oversized message, WINK with data, empty CBOR") {
  CtaphidServer s;
  send(s, kBroadcastChannel, CtaphidCommand::init, Bytes(7, 1));
  expect_error(s, kBroadcastChannel, CtaphidError::invalid_len);
  send(s, kBroadcastChannel, CtaphidCommand::init, Bytes(9, 1));
  expect_error(s, kBroadcastChannel, CtaphidError::invalid_len);
  ChannelId cid = allocate(s);
  s.on_report(init_packet(cid, 0x10, uint16_t(kMaxMessageSize + 1)), T0);
  expect_error(s, cid, CtaphidError::invalid_len);
  CHECK_FALSE(s.busy());
  s.on_report(init_packet(cid, 0x01, 0xffff), T0);
  expect_error(s, cid, CtaphidError::invalid_len);
  send(s, cid, CtaphidCommand::wink, Bytes{1});
  expect_error(s, cid, CtaphidError::invalid_len);
  send(s, cid, CtaphidCommand::cbor, {});
  expect_error(s, cid, CtaphidError::invalid_len);
  CHECK_FALSE(s.next_event().has_value());
}

TEST_CASE("unknown and unsupported commands get ERR_INVALID_CMD") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  for (uint8_t cmd : {uint8_t(0x00), uint8_t(0x04) /*LOCK*/, uint8_t(0x3b) /*KEEPALIVE*/,
                      uint8_t(0x3f) /*ERROR*/, uint8_t(0x40), uint8_t(0x55), uint8_t(0x7f)}) {
    INFO("command " << int(cmd));
    s.on_report(init_packet(cid, cmd, 0), T0);
    expect_error(s, cid, CtaphidError::invalid_cmd);
  }
  // Checked before reassembly: a multi-packet unknown command is refused at once.
  s.on_report(init_packet(cid, 0x55, 500), T0);
  expect_error(s, cid, CtaphidError::invalid_cmd);
  CHECK_FALSE(s.busy());
}

TEST_CASE("PING echoes single- and multi-packet messages, up to the maximum size") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  for (size_t n : {size_t(0), size_t(1), size_t(57), size_t(58), size_t(1000), kMaxMessageSize}) {
    INFO("size " << n);
    auto data = pattern(n);
    send(s, cid, CtaphidCommand::ping, data);
    auto m = only(s);
    CHECK(m.channel == cid);
    CHECK(m.command == uint8_t(CtaphidCommand::ping));
    CHECK(m.payload == data);
  }
}

TEST_CASE("WINK answers empty and raises an event; MSG gets SW 6D00") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  send(s, cid, CtaphidCommand::wink, {});
  auto m = only(s);
  CHECK(m.command == uint8_t(CtaphidCommand::wink));
  CHECK(m.payload.empty());
  auto e = s.next_event();
  REQUIRE(e.has_value());
  CHECK(e->kind == CtaphidEvent::Kind::wink);

  // A U2F_VERSION APDU and a U2F_REGISTER APDU: both refused with INS not supported.
  send(s, cid, CtaphidCommand::msg, Bytes{0x00, 0x03, 0x00, 0x00, 0x00});
  m = only(s);
  CHECK(m.command == uint8_t(CtaphidCommand::msg));
  CHECK(m.payload == Bytes{0x6d, 0x00});
  send(s, cid, CtaphidCommand::msg, pattern(73));
  CHECK(only(s).payload == Bytes{0x6d, 0x00});
  CHECK_FALSE(s.next_event().has_value());
}

TEST_CASE("reassembly: wrong sequence number gets ERR_INVALID_SEQ and the channel recovers") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  auto reports = encode_message(cid, uint8_t(CtaphidCommand::ping), pattern(200));
  REQUIRE(reports.size() == 4);
  s.on_report(reports[0], T0);
  s.on_report(reports[2], T0);  // sequence 1 where 0 was expected
  expect_error(s, cid, CtaphidError::invalid_seq);
  CHECK_FALSE(s.busy());
  // The rest of the broken message is ignored, then a new message works.
  s.on_report(reports[3], T0);
  CHECK_FALSE(s.next_report().has_value());
  send(s, cid, CtaphidCommand::ping, pattern(200));
  CHECK(only(s).payload == pattern(200));
}

TEST_CASE("reassembly: a repeated sequence number is a sequence error") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  auto reports = encode_message(cid, uint8_t(CtaphidCommand::ping), pattern(200));
  s.on_report(reports[0], T0);
  s.on_report(reports[1], T0);
  s.on_report(reports[1], T0);
  expect_error(s, cid, CtaphidError::invalid_seq);
}

TEST_CASE("reassembly: a new request on the same channel mid-message is a sequence error") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  auto reports = encode_message(cid, uint8_t(CtaphidCommand::ping), pattern(200));
  s.on_report(reports[0], T0);
  send(s, cid, CtaphidCommand::ping, Bytes{1});
  expect_error(s, cid, CtaphidError::invalid_seq);
  CHECK_FALSE(s.busy());
}

TEST_CASE("reassembly: INIT on the same channel mid-message resynchronises") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  s.on_report(encode_message(cid, uint8_t(CtaphidCommand::ping), pattern(200))[0], T0);
  send(s, cid, CtaphidCommand::init, Bytes(8, 3));
  auto m = only(s);
  CHECK(m.command == uint8_t(CtaphidCommand::init));
  CHECK_FALSE(s.busy());
}

TEST_CASE("reassembly: CANCEL mid-message drops it silently") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  s.on_report(encode_message(cid, uint8_t(CtaphidCommand::ping), pattern(200))[0], T0);
  send(s, cid, CtaphidCommand::cancel, {});
  CHECK_FALSE(s.next_report().has_value());
  CHECK_FALSE(s.busy());
}

TEST_CASE("message timeout: a stalled message gets ERR_MSG_TIMEOUT, measured from the last packet") {
  CtaphidOptions o;
  o.message_timeout = 500ms;
  CtaphidServer s(o);
  ChannelId cid = allocate(s);
  auto reports = encode_message(cid, uint8_t(CtaphidCommand::ping), pattern(200));
  s.on_report(reports[0], T0);
  REQUIRE(s.next_deadline() == T0 + 500ms);
  s.on_timer(T0 + 499ms);
  CHECK_FALSE(s.next_report().has_value());
  s.on_report(reports[1], T0 + 400ms);  // extends the deadline
  CHECK(s.next_deadline() == T0 + 900ms);
  s.on_timer(T0 + 899ms);
  CHECK_FALSE(s.next_report().has_value());
  s.on_timer(T0 + 900ms);
  expect_error(s, cid, CtaphidError::msg_timeout);
  CHECK_FALSE(s.busy());
  CHECK_FALSE(s.next_deadline().has_value());
  // Late CONT packets of the timed-out message are ignored.
  s.on_report(reports[2], T0 + 950ms);
  CHECK_FALSE(s.next_report().has_value());
}

TEST_CASE("busy: other channels get ERR_CHANNEL_BUSY while a message is received or processed") {
  CtaphidServer s;
  ChannelId a = allocate(s);
  ChannelId b = allocate(s);
  auto reports = encode_message(a, uint8_t(CtaphidCommand::ping), pattern(150));
  s.on_report(reports[0], T0);
  send(s, b, CtaphidCommand::ping, Bytes{1});
  expect_error(s, b, CtaphidError::channel_busy);
  // B's continuation packets are ignored, not answered.
  s.on_report(cont_packet(b, 0), T0);
  CHECK_FALSE(s.next_report().has_value());
  // INIT stays available to others (opening the device must work during a transaction).
  ChannelId c = allocate(s);
  CHECK(c != a);
  s.on_report(reports[1], T0);
  s.on_report(reports[2], T0);
  CHECK(only(s).payload == pattern(150));

  send(s, a, CtaphidCommand::cbor, Bytes{0x04});
  auto e = s.next_event();
  REQUIRE(e.has_value());
  REQUIRE(e->kind == CtaphidEvent::Kind::cbor_request);
  send(s, b, CtaphidCommand::cbor, Bytes{0x04});
  expect_error(s, b, CtaphidError::channel_busy);
  send(s, a, CtaphidCommand::ping, Bytes{1});  // the same channel, a second request
  expect_error(s, a, CtaphidError::channel_busy);
  send(s, b, CtaphidCommand::cancel, {});  // another channel's CANCEL: nothing to cancel
  CHECK_FALSE(s.next_report().has_value());
  CHECK_FALSE(s.next_event().has_value());
  s.complete_cbor(e->transaction, Bytes{0x00});
  auto m = only(s);
  CHECK(m.channel == a);
  CHECK(m.command == uint8_t(CtaphidCommand::cbor));
  CHECK(m.payload == Bytes{0x00});
  send(s, b, CtaphidCommand::ping, Bytes{2});
  CHECK(only(s).payload == Bytes{2});
}

TEST_CASE("CBOR: request event, KEEPALIVE UPNEEDED at once and every 100 ms, then the answer") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  auto request = pattern(300);
  send(s, cid, CtaphidCommand::cbor, request, T0);
  auto e = s.next_event();
  REQUIRE(e.has_value());
  CHECK(e->kind == CtaphidEvent::Kind::cbor_request);
  CHECK(e->channel == cid);
  CHECK(e->payload == request);
  CHECK(s.pending_transaction() == e->transaction);

  auto keepalives = [&] {
    int n = 0;
    for (auto& m : drain(s)) {
      CHECK(m.channel == cid);
      CHECK(m.command == uint8_t(CtaphidCommand::keepalive));
      CHECK(m.payload == Bytes{uint8_t(KeepaliveStatus::up_needed)});
      ++n;
    }
    return n;
  };
  CHECK(s.next_deadline() == T0);
  s.on_timer(T0);
  CHECK(keepalives() == 1);
  s.on_timer(T0 + 50ms);
  CHECK(keepalives() == 0);
  s.on_timer(T0 + 99ms);
  CHECK(keepalives() == 0);
  s.on_timer(T0 + 100ms);
  CHECK(keepalives() == 1);
  CHECK(s.next_deadline() == T0 + 200ms);
  // A late tick sends one keepalive (no burst) and re-bases the period.
  s.on_timer(T0 + 450ms);
  CHECK(keepalives() == 1);
  CHECK(s.next_deadline() == T0 + 550ms);
  int total = 0;
  for (auto t = T0 + 460ms; t <= T0 + 1450ms; t += 10ms) {
    s.on_timer(t);
    total += keepalives();
  }
  CHECK(total == 10);  // 550, 650, …, 1450

  auto response = pattern(500);
  s.complete_cbor(e->transaction, response);
  auto m = only(s);
  CHECK(m.command == uint8_t(CtaphidCommand::cbor));
  CHECK(m.payload == response);
  CHECK_FALSE(s.busy());
  s.on_timer(T0 + 5s);
  CHECK_FALSE(s.next_report().has_value());
  // A second answer for the same transaction is ignored.
  s.complete_cbor(e->transaction, response);
  CHECK_FALSE(s.next_report().has_value());
}

TEST_CASE("CANCEL on the pending CBOR request raises one cancel event; the answer still goes out") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  send(s, cid, CtaphidCommand::cbor, Bytes{0x01, 0xa0});
  auto e = s.next_event();
  REQUIRE(e.has_value());
  send(s, cid, CtaphidCommand::cancel, {});
  send(s, cid, CtaphidCommand::cancel, {});  // python-fido2 repeats it
  auto c = s.next_event();
  REQUIRE(c.has_value());
  CHECK(c->kind == CtaphidEvent::Kind::cancel);
  CHECK(c->transaction == e->transaction);
  CHECK_FALSE(s.next_event().has_value());
  CHECK_FALSE(s.next_report().has_value());  // CANCEL itself has no response
  s.complete_cbor(e->transaction, Bytes{0x2d});
  CHECK(only(s).payload == Bytes{0x2d});
}

TEST_CASE("CANCEL with nothing pending is ignored") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  send(s, cid, CtaphidCommand::cancel, {});
  CHECK_FALSE(s.next_report().has_value());
  CHECK_FALSE(s.next_event().has_value());
}

TEST_CASE("INIT on the busy channel aborts the pending CBOR request; its late answer is dropped") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  send(s, cid, CtaphidCommand::cbor, Bytes{0x02, 0xa0});
  auto e = s.next_event();
  REQUIRE(e.has_value());
  send(s, cid, CtaphidCommand::init, Bytes(8, 5));
  auto a = s.next_event();
  REQUIRE(a.has_value());
  CHECK(a->kind == CtaphidEvent::Kind::abort);
  CHECK(a->transaction == e->transaction);
  CHECK(only(s).command == uint8_t(CtaphidCommand::init));
  CHECK_FALSE(s.busy());
  s.complete_cbor(e->transaction, Bytes{0x00});
  CHECK_FALSE(s.next_report().has_value());
}

TEST_CASE("reset forgets channels and aborts the pending request") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  send(s, cid, CtaphidCommand::cbor, Bytes{0x02, 0xa0});
  auto e = s.next_event();
  REQUIRE(e.has_value());
  s.on_timer(T0);
  s.reset();
  CHECK_FALSE(s.next_report().has_value());  // the queued keepalive is dropped too
  auto a = s.next_event();
  REQUIRE(a.has_value());
  CHECK(a->kind == CtaphidEvent::Kind::abort);
  CHECK(s.allocated_channels() == 0);
  send(s, cid, CtaphidCommand::ping, Bytes{1});
  expect_error(s, cid, CtaphidError::invalid_channel);
}

TEST_CASE("the channel table forgets the least recently used idle channel") {
  CtaphidOptions o;
  o.max_channels = 3;
  CtaphidServer s(o);
  ChannelId a = allocate(s);
  ChannelId b = allocate(s);
  ChannelId c = allocate(s);
  send(s, a, CtaphidCommand::ping, Bytes{1});  // a is now the most recently used
  drain(s);
  ChannelId d = allocate(s);  // evicts b
  CHECK(s.allocated_channels() == 3);
  send(s, b, CtaphidCommand::ping, Bytes{1});
  expect_error(s, b, CtaphidError::invalid_channel);
  for (ChannelId ok : {a, c, d}) {
    send(s, ok, CtaphidCommand::ping, Bytes{7});
    CHECK(only(s).payload == Bytes{7});
  }
  // A channel with a transaction in progress is never the one forgotten.
  send(s, c, CtaphidCommand::cbor, Bytes{0x04});
  REQUIRE(s.next_event().has_value());
  allocate(s);
  allocate(s);
  allocate(s);
  CHECK(s.pending_transaction().has_value());
  send(s, c, CtaphidCommand::cancel, {});
  CHECK(s.next_event().has_value());
}

TEST_CASE("an answer too large for CTAPHID becomes ERR_OTHER") {
  CtaphidServer s;
  ChannelId cid = allocate(s);
  send(s, cid, CtaphidCommand::cbor, Bytes{0x02, 0xa0});
  auto e = s.next_event();
  REQUIRE(e.has_value());
  s.complete_cbor(e->transaction, pattern(kMaxMessageSize + 1));
  expect_error(s, cid, CtaphidError::other);
  CHECK_FALSE(s.busy());
}

// Issue 15 finding 9: channel ids must not be predictable (another program on the HID bus
// could otherwise guess the next one and inject into it): never sequential, never 0 or the
// broadcast id, never one already in use.
TEST_CASE("broadcast INIT allocates unpredictable channel ids") {
  CtaphidOptions o;
  o.max_channels = 64;
  CtaphidServer s(o);
  std::set<ChannelId> seen;
  int consecutive = 0;
  ChannelId previous = 0;
  for (int i = 0; i < 64; ++i) {
    ChannelId c = allocate(s);
    CHECK(c != kBroadcastChannel);
    CHECK(c != kReservedChannel);
    CHECK(seen.insert(c).second);  // not in use
    if (i > 0 && c == previous + 1) ++consecutive;
    previous = c;
  }
  CHECK(consecutive < 4);  // sequential ids would give 63
  CHECK(*seen.begin() > 64);  // not counting up from 1
}
