#!/usr/bin/env bash
# `hybrid simulate` runs a whole in-memory transaction and records a transcript;
# `hybrid debug replay` replays it (exit 0) and names the failing step of a tampered copy
# (non-zero exit). HYBRID_KEYLOG receives the keys.
set -euo pipefail
bin="${HYBRID_BINARY:?}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
HYBRID_KEYLOG="$dir/keys.log" "$bin" simulate --no-qr --transcript "$dir/t.json" >"$dir/out.txt" 2>"$dir/err.txt"
grep -q "client decrypted the advert" "$dir/out.txt"
grep -q "signature over the handshake verifies" "$dir/out.txt"
grep -q "WARNING: HYBRID_KEYLOG" "$dir/err.txt"
test "$(stat -c %a "$dir/keys.log")" = 600
grep -q client_ephemeral_private "$dir/keys.log"
"$bin" debug replay "$dir/t.json" >"$dir/replay.txt"
grep -q "Every step succeeded" "$dir/replay.txt"
/usr/bin/python3 - "$dir/t.json" <<'PY'
import json, sys
p = sys.argv[1]; j = json.load(open(p))
b = bytearray.fromhex(j["messages"][2]["bytes"]); b[0] ^= 1
j["messages"][2]["bytes"] = b.hex()
json.dump(j, open(p + ".bad", "w"))
PY
if "$bin" debug replay "$dir/t.json.bad" >"$dir/bad.txt"; then
  echo "replay of a tampered transcript should fail"; exit 1
fi
grep -q 'The replay stops at "phone message 1' "$dir/bad.txt"
if "$bin" debug replay "$dir/missing.json" 2>/dev/null; then echo "missing file should fail"; exit 1; fi
echo "1 passed, 0 failed"
