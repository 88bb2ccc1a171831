#!/usr/bin/env bash
# `hybrid ctap …` from the command line: exit codes and output a script can rely on.
set -euo pipefail
B="${HYBRID_BINARY:?HYBRID_BINARY must point at the hybrid CLI}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "ctap cli test: $*" >&2; exit 1; }

# The §10 vector request decodes; a truncated one is refused with exit 3 and a CTAP status.
req=01a5015820687134968222ec17202e42505f8ed2b16ae22f16bb05b88c25db9e602645f14102a262696469746573742e63746170646e616d6569746573742e6374617003a362696458202b6689bb18f4169f069fbcdf50cb6ea3c60a861b9a7b63946983e0b577b78c70646e616d6571746573746374617040637461702e636f6d6b646973706c61794e616d65695465737420437461700483a263616c672664747970656a7075626c69632d6b6579a263616c6739010064747970656a7075626c69632d6b6579a263616c67382464747970656a7075626c69632d6b657907a162726bf5
out="$("$B" ctap decode "$req")" || fail "valid request refused"
grep -q '"rp_id": "test.ctap"' <<<"$out" || fail "rp_id missing: $out"
set +e
out="$("$B" ctap decode "${req:0:100}" 2>/dev/null)"; rc=$?
set -e
[ "$rc" = 3 ] || fail "truncated request: exit $rc, expected 3"
grep -q 'CTAP2_ERR_INVALID_CBOR' <<<"$out" || fail "no CTAP status in: $out"

# Every example policy is valid; users resolve to the expected profiles.
for f in docs/passkey-policy-examples/*.json; do
  "$B" ctap policy-check "$f" >/dev/null || fail "$f is not a valid policy"
done
out="$("$B" ctap policy-check docs/passkey-policy-examples/kiosk-policy.json --user carol)"
grep -q '"profile_for_user": "contractors"' <<<"$out" || fail "carol should get contractors: $out"
echo '{"profiles": [{"name": "x", "passkey_types": ["cloud"]}]}' >"$tmp/bad.json"
set +e
"$B" ctap policy-check "$tmp/bad.json" >/dev/null 2>&1; rc=$?
set -e
[ "$rc" = 3 ] || fail "bad policy: exit $rc, expected 3"

# The attestation root: PEM on stdout, the same on a second run, store mode 0600.
"$B" ctap attestation-root --store "$tmp/phone.json" >"$tmp/root1.pem" 2>/dev/null || fail "attestation-root failed"
"$B" ctap attestation-root --store "$tmp/phone.json" >"$tmp/root2.pem" 2>/dev/null || fail "attestation-root failed twice"
grep -q 'BEGIN CERTIFICATE' "$tmp/root1.pem" || fail "no PEM"
cmp -s "$tmp/root1.pem" "$tmp/root2.pem" || fail "the per-install root changed between runs"
[ "$(stat -c %a "$tmp/phone.json")" = 600 ] || fail "store mode is not 0600"
# A policy that lists that root parses (the path is relative to the policy file).
cat >"$tmp/attested.json" <<JSON
{"attestation_roots": ["root1.pem"],
 "profiles": [{"name": "admins", "passkey_types": ["device-bound"], "enforce_attestation": true}]}
JSON
out="$("$B" ctap policy-check "$tmp/attested.json")" || fail "policy with the root refused"
grep -q '"attestation_roots": 1' <<<"$out" || fail "root not loaded: $out"
echo "ctap cli test: ok" >&2
