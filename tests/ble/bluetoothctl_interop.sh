#!/usr/bin/env bash
# BlueZ's own client (bluetoothctl, package bluez) against the virtual air, both ways:
#  1. `hybrid ble advertise` → bluetoothctl's scan shows the Device1 with that ServiceData;
#  2. bluetoothctl's `advertise broadcast` → `hybrid ble scan --expect` sees those bytes.
# Proves the air follows BlueZ's API closely enough for code not written against it.
# Registered only when bluetoothctl is installed. Bounded: about 10 s.
set -euo pipefail
H=${HYBRID_BINARY:?run through ctest (HYBRID_BINARY)}
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/*; do echo "--- $f" >&2; sed 's/\x1b\[[0-9;]*[mK]//g; s/\x01\|\x02//g' "$f" >&2; done
  exit 1
}
wait_for_line() {  # file, tenths of a second
  for _ in $(seq "$2"); do [ -s "$1" ] && return 0; sleep 0.1; done
  return 1
}

"$H" virtual-air --timeout 60 >"$dir/air.out" 2>"$dir/air.err" &
pids+=($!)
wait_for_line "$dir/air.out" 50 || fail "virtual-air did not get ready"
addr=$(sed -n 's/.*"dbus_address":"\([^"]*\)".*/\1/p' "$dir/air.out")
[ -n "$addr" ] || fail "no dbus_address in the ready line"
export DBUS_SYSTEM_BUS_ADDRESS=$addr  # bluetoothctl talks to the "system bus": the air's

# 1. Our advertiser, bluetoothctl's scanner.
payload=00112233445566778899aabbccddeeff00112233
"$H" ble advertise "$payload" --duration 30 >"$dir/adv.out" 2>"$dir/adv.err" &
pids+=($!)
wait_for_line "$dir/adv.out" 50 || fail "hybrid ble advertise did not start"
device=$("$H" ble scan --count 1 --timeout 5 2>/dev/null | sed -n 's/.*"address":"\([^"]*\)".*/\1/p')
[ -n "$device" ] || fail "hybrid ble scan did not see our own advert"
{ sleep 0.5; echo "scan on"; sleep 1.5; echo "info $device"; sleep 0.5; echo "scan off"; sleep 0.5; echo quit; } |
  timeout 15 bluetoothctl >"$dir/bluetoothctl-scan.txt" 2>&1 || true
clean=$(sed 's/\x1b\[[0-9;]*[mK]//g; s/\x01\|\x02//g' "$dir/bluetoothctl-scan.txt")
grep -q "NEW.*Device $device" <<<"$clean" || fail "bluetoothctl did not discover $device"
grep -q "ServiceData Key: 0000fff9-0000-1000-8000-00805f9b34fb" <<<"$clean" || fail "no 0xFFF9 ServiceData"
grep -q "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff" <<<"$clean" || fail "wrong ServiceData bytes"
grep -q "Discovering: no" <<<"$clean" || fail "discovery not stopped after scan off"

# 2. bluetoothctl's advertiser, our scanner.
bytes="0xde 0xad 0xbe 0xef 0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08 0x09 0x0a 0x0b 0x0c 0x0d 0x0e 0x0f 0x10"
{ sleep 0.5; echo "advertise.service 0xfff9 $bytes"; sleep 0.3; echo "advertise broadcast"; sleep 6;
  echo "advertise off"; sleep 0.3; echo quit; } |
  timeout 15 bluetoothctl >"$dir/bluetoothctl-adv.txt" 2>&1 &
pids+=($!)
"$H" ble scan --timeout 5 --expect deadbeef0102030405060708090a0b0c0d0e0f10 >"$dir/scan.out" 2>"$dir/scan.err" ||
  fail "hybrid ble scan did not see bluetoothctl's advert"
grep -q '"matched":true' "$dir/scan.out" || fail "no match line"
echo "bluetoothctl $(bluetoothctl --version | awk '{print $2}') interoperates with the virtual air both ways"
