#!/usr/bin/env bash
# deploy/bridge: the installer puts the udev rule, the module list and the user unit where
# they belong (into a scratch root here) and removes them again; the unit passes
# `systemd-analyze verify` with its ExecStart pointed at the built binary.
set -euo pipefail
cd "${HYBRID_SOURCE_DIR:-$(dirname "$0")/../..}"
binary="${HYBRID_BINARY:?HYBRID_BINARY must name the built hybrid binary}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
fail() { echo "deploy_test: FAIL: $*" >&2; exit 1; }

export HYBRID_BRIDGE_ROOT="$scratch/root" XDG_CONFIG_HOME="$scratch/config" HYBRID_BRIDGE_NO_ACTIVATE=1
mkdir -p "$HYBRID_BRIDGE_ROOT"
deploy/bridge/install 2>"$scratch/install.log" || { cat "$scratch/install.log" >&2; fail "install failed"; }

rule="$HYBRID_BRIDGE_ROOT/etc/udev/rules.d/70-hybrid-bridge-uhid.rules"
modules="$HYBRID_BRIDGE_ROOT/etc/modules-load.d/hybrid-bridge-uhid.conf"
unit="$XDG_CONFIG_HOME/systemd/user/hybrid-bridge.service"
cmp -s deploy/bridge/70-hybrid-bridge-uhid.rules "$rule" || fail "udev rule not installed as is"
[ "$(stat -c %a "$rule")" = 644 ] || fail "udev rule mode is $(stat -c %a "$rule")"
[ "$(cat "$modules")" = uhid ] || fail "modules-load file holds '$(cat "$modules")'"
cmp -s deploy/bridge/hybrid-bridge.service "$unit" || fail "user unit not installed as is"

# The one active rule line: misc device uhid, uaccess tag, static node.
active="$(grep -v '^\s*#' "$rule" | grep -v '^\s*$')"
[ "$(echo "$active" | wc -l)" = 1 ] || fail "expected exactly one active rule line, got: $active"
for part in 'SUBSYSTEM=="misc"' 'KERNEL=="uhid"' 'TAG+="uaccess"' 'OPTIONS+="static_node=uhid"'; do
  [[ "$active" == *"$part"* ]] || fail "rule line lacks $part"
done

if command -v systemd-analyze >/dev/null; then
  sed "s|^ExecStart=hybrid |ExecStart=$binary |" deploy/bridge/hybrid-bridge.service >"$scratch/hybrid-bridge.service"
  out="$(systemd-analyze verify "$scratch/hybrid-bridge.service" 2>&1)" || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify complains: $out"
  grep -q '^Type=notify$' deploy/bridge/hybrid-bridge.service || fail "the unit is not Type=notify"
else
  fail "systemd-analyze is missing (package systemd), cannot check the unit"
fi

deploy/bridge/install --uninstall 2>>"$scratch/install.log" || fail "uninstall failed"
[ ! -e "$rule" ] && [ ! -e "$modules" ] && [ ! -e "$unit" ] || fail "uninstall left files behind"

# The narrower choice (issue 15 finding 9): --group installs the group rule instead, with no
# uaccess tag (nobody gets /dev/uhid just by sitting at the seat).
deploy/bridge/install --group 2>>"$scratch/install.log" || { cat "$scratch/install.log" >&2; fail "install --group failed"; }
cmp -s deploy/bridge/70-hybrid-bridge-uhid-group.rules "$rule" || fail "--group did not install the group rule"
active="$(grep -v '^\s*#' "$rule" | grep -v '^\s*$')"
[ "$(echo "$active" | wc -l)" = 1 ] || fail "group rule: expected exactly one active line, got: $active"
for part in 'KERNEL=="uhid"' 'GROUP="hybrid-bridge"' 'MODE="0660"'; do
  [[ "$active" == *"$part"* ]] || fail "group rule line lacks $part"
done
[[ "$active" != *uaccess* ]] || fail "the group rule must not tag uaccess"
grep -q "What the udev rule allows" docs/bridge.md || fail "docs/bridge.md does not explain the udev rule's risk"
deploy/bridge/install --uninstall 2>>"$scratch/install.log" || fail "uninstall failed"
[ ! -e "$rule" ] || fail "uninstall left the group rule behind"
echo "deploy_test: ok"
