#!/usr/bin/env bash
# Proof as a user (issue 19): `cargo package`, then a game outside the repository that depends on the
# unpacked package by path, with only its own assets/portraits/, built and run headless: ONNX Runtime from
# the `fetch-runtime` path into an empty cache folder, the face models from the package, no Python on PATH.
# Prints the package size and the first-run, second-run and no-network results.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d "${TMPDIR:-/tmp}/bth-user-game.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$repo"

echo "-- cargo package"
rm -f "$CARGO_TARGET_DIR"/package/bevy_talking_head-*.crate
# --no-verify: the game below builds the unpacked package itself.
cargo package --no-verify --allow-dirty --quiet
crate=$(ls "$CARGO_TARGET_DIR"/package/bevy_talking_head-*.crate)
echo "package: $(basename "$crate"), $(stat -c %s "$crate") bytes compressed, $(cargo package --list --allow-dirty | wc -l) files"
mkdir -p "$work/pkg"
tar -xzf "$crate" -C "$work/pkg"
pkg=$(ls -d "$work"/pkg/bevy_talking_head-*)
for must_not in tests assets models/.venv models/onnxruntime; do
  if [ -e "$pkg/$must_not" ]; then echo "error: the package carries $must_not" >&2; exit 1; fi
done

echo "-- the game: .ci/user_game, depending on $pkg"
game="$work/game"
mkdir -p "$game/assets/portraits"
cp -r .ci/user_game/src "$game/"
sed "s|@PACKAGE@|$pkg|" .ci/user_game/Cargo.toml > "$game/Cargo.toml"
# The repository's versions (a user's resolver would pick the newest; these are the tested ones).
cp Cargo.lock "$game/Cargo.lock"
cp assets/portraits/astronaut.png "$game/assets/portraits/"
(cd "$game" && cargo build --quiet)
bin="$CARGO_TARGET_DIR/debug/user_game"

# As `cargo run` starts it (Bevy finds assets/ under CARGO_MANIFEST_DIR), but with no Python (nor anything
# else) on PATH, a HOME of its own and the cache folder empty at first.
run() {
  (cd "$game" && env -i HOME="$work/home" PATH=/nonexistent RUST_LOG=info NO_COLOR=1 CARGO_MANIFEST_DIR="$game" \
    BEVY_TALKING_HEAD_CACHE="$work/cache" "$@" "$bin") > "$work/log" 2>&1
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "-- first run: empty cache, no rig sidecar"
mkdir -p "$work/home"
t0=$(date +%s.%N)
if ! run; then cat "$work/log"; echo "error: the game failed on its first run" >&2; exit 1; fi
t1=$(date +%s.%N)
grep -E "fetching|downloading| %|sha256|ONNX Runtime from|user_game" "$work/log" | sed 's/^/   /'
grep -q "ONNX Runtime from $work/cache/onnxruntime/" "$work/log" \
  || { cat "$work/log"; echo "error: ONNX Runtime did not come from the fetch path" >&2; exit 1; }
[ -f "$game/assets/portraits/astronaut.png.rig.json" ] \
  || { cat "$work/log"; echo "error: the portrait was not rigged by tracking (no sidecar)" >&2; exit 1; }
ls -l "$work"/cache/onnxruntime/*/ | sed "s/^/   /"
first=$(secs "$t0" "$t1")

echo "-- second run: ONNX Runtime cached, the rig from its sidecar"
t0=$(date +%s.%N)
if ! run; then cat "$work/log"; echo "error: the game failed on its second run" >&2; exit 1; fi
t1=$(date +%s.%N)
grep "user_game" "$work/log" | sed 's/^/   /'
if grep -q "downloading" "$work/log"; then echo "error: the second run downloaded again" >&2; exit 1; fi
second=$(secs "$t0" "$t1")

echo "-- no network: an empty cache and an index that cannot be reached"
rm -rf "$work/cache" "$game/assets/portraits/astronaut.png.rig.json"
if run BEVY_TALKING_HEAD_PYPI_INDEX=http://127.0.0.1:1/simple; then
  cat "$work/log"; echo "error: the game ran without ONNX Runtime" >&2; exit 1
fi
grep -E "WARN|FAILED" "$work/log" | sed 's/^/   /'
grep -q "cannot fetch ONNX Runtime from \`http://127.0.0.1:1/simple/onnxruntime/\`" "$work/log" \
  || { echo "error: the failure does not say what could not be fetched" >&2; exit 1; }

echo "user game: first run ${first} s (fetch + rig + 10 frames), second run ${second} s, package $(stat -c %s "$crate") bytes"
