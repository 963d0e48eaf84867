#!/usr/bin/env bash
# The benchmark report: runs zkroll's benchmarks and measuring commands, collects their
# machine-readable output with this machine's description into docs/report/report.json, and
# renders docs/report.md with its plots (docs/report/*.png, drawn in Rust with plotters).
#
#   scripts/report.sh --quick   reduced sizes: under 15 minutes on the 2-core reference machine
#   scripts/report.sh           full sizes: several hours (MSM up to 2^22 points, chunks of up
#                               to 32 slots, aggregation of 2, 4 and 8 chunks with their keys)
#
# Steps: the MSM benchmark (plot 1); the other criterion benchmarks (execute, primitives,
# prove: tables); zkroll prove, info, aggregate and gen-verifier (plots 2 to 5).
#
# Parameters and keys are cached in ZKROLL_CACHE (default ~/.cache/zkroll-params), as the
# tests and the demo do; the aggregation reuses the end-to-end tests' keys when they are
# there. The raw output stays in $CARGO_TARGET_DIR/zkroll-report/raw for inspection.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/zkroll-target}

QUICK=0
case "${1:-}" in
  "") ;;
  --quick) QUICK=1 ;;
  *) echo "usage: scripts/report.sh [--quick]" >&2; exit 2 ;;
esac

if [ "$QUICK" -eq 1 ]; then
  MSM_LOGS=10,12,14,16,18
  CHUNK_SIZES="1 2 4 8"
  AGG_CHUNKS="2"
  PROVE_BENCH_SIZES=1
  CRITERION="--warm-up-time 1 --measurement-time 2"
  echo "==> zkroll benchmark report, --quick: reduced sizes, under 15 minutes on the 2-core reference machine"
else
  MSM_LOGS=10,11,12,13,14,15,16,17,18,19,20,21,22
  CHUNK_SIZES="1 2 4 8 16 32"
  AGG_CHUNKS="2 4 8"
  PROVE_BENCH_SIZES=1,2,4,8
  CRITERION=""
  echo "==> zkroll benchmark report, full sizes: this takes SEVERAL HOURS on the 2-core reference"
  echo "    machine (MSM up to 2^22, chunks up to 32 slots, aggregation of 2, 4 and 8 chunks);"
  echo "    scripts/report.sh --quick takes under 15 minutes"
fi
DEPTHS="8 16 24 32"
STEPS=7

scripts/setup.sh

OUT=docs
RAW="$CARGO_TARGET_DIR/zkroll-report/raw"
CACHE=${ZKROLL_CACHE:-$HOME/.cache/zkroll-params}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$RAW"
mkdir -p "$RAW" "$CACHE/params" "$CACHE/keys" "$OUT/report"
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- . ':!docs/report.md' ':!docs/report' || commit="$commit-dirty"
printf '{"date": "%s", "commit": "%s", "quick": %s}\n' "$(date -u +%FT%TZ)" "$commit" \
  "$([ "$QUICK" -eq 1 ] && echo true || echo false)" >"$RAW/run.json"

# section NAME COMMAND...: records the command shown in the report, and the seconds taken.
started=0
begin() {
  mkdir -p "$RAW/$1"
  printf '%s\n' "$2" >"$RAW/$1/command"
  started=$(date +%s)
}
finish() {
  echo $(($(date +%s) - started)) >"$RAW/$1/seconds"
}

echo "==> [1/$STEPS] building zkroll, the benchmarks and the report renderer (release)"
cargo build --release --locked --workspace --bins
ZK="$CARGO_TARGET_DIR/release/zkroll"
REPORT="$CARGO_TARGET_DIR/release/zkroll-report"

echo "==> [2/$STEPS] MSM: zkroll's engine, halo2's msm_best and arkworks at 2^{$MSM_LOGS} points (criterion)"
begin msm "ZKROLL_BENCH_MSM_LOGS=$MSM_LOGS ZKROLL_BENCH_OPENCL_MAX_LOG=12 cargo bench -p zkroll-benches --bench msm -- $CRITERION"
rm -rf "$CARGO_TARGET_DIR/criterion/msm"
# shellcheck disable=SC2086 # criterion's options are words
ZKROLL_BENCH_MSM_LOGS=$MSM_LOGS ZKROLL_BENCH_OPENCL_MAX_LOG=12 \
  cargo bench --locked -p zkroll-benches --bench msm -- $CRITERION 2>&1 |
  grep -E '^msm/|time:' || true
cp -r "$CARGO_TARGET_DIR/criterion/msm" "$RAW/msm/criterion"
finish msm

echo "==> [3/$STEPS] the other criterion benchmarks: engine execution, primitives, chunk proving"
echo "    (slots per chunk $PROVE_BENCH_SIZES, each with zkroll's MSM engine and halo2's msm_best)"
begin criterion "cargo bench -p zkroll-benches --bench execute -- $CRITERION
cargo bench -p zkroll-benches --bench primitives -- $CRITERION
ZKROLL_BENCH_CHUNK_SIZES=$PROVE_BENCH_SIZES cargo bench -p zkroll-benches --bench prove -- $CRITERION"
for bench in execute primitives prove; do
  echo "    $bench"
  # Each target's own criterion directory: nothing stale from earlier runs is collected.
  # shellcheck disable=SC2086 # criterion's options are words
  CRITERION_HOME="$RAW/criterion/$bench" ZKROLL_BENCH_CHUNK_SIZES=$PROVE_BENCH_SIZES \
    cargo bench --locked -p zkroll-benches --bench "$bench" -- $CRITERION \
    >"$RAW/criterion/$bench.log" 2>&1 || { tail -20 "$RAW/criterion/$bench.log" >&2; exit 1; }
  grep -E '^[a-z].*/|time:' "$RAW/criterion/$bench.log" | grep -v '^Benchmarking' || true
  # What the prove target says of peak memory beside criterion's figures.
  grep -E '^chunk size ' "$RAW/criterion/$bench.log" >"$RAW/criterion/$bench/notes" || true
done
finish criterion

echo "==> [4/$STEPS] chunk proofs: slots per chunk $CHUNK_SIZES, tree depth 24, one proof at a time"
max_size=0
for size in $CHUNK_SIZES; do max_size=$size; done
begin chunks "zkroll gen-txs --out w --accounts 8 --count $((max_size - 1)) --seed 5
zkroll state init --data-dir d --genesis w/genesis.json
zkroll execute --data-dir d --txs w/txs.json --l1-deposits w/l1-deposits.json --trace t.json
zkroll prove --data-dir d --trace t.json --chunk-size N --jobs 1 --json   # N in $CHUNK_SIZES"
# count - 1 transactions and the fee settlement the engine appends: max_size steps.
"$ZK" gen-txs --out "$WORK/chunks" --accounts 8 --count $((max_size - 1)) --seed 5 >/dev/null
"$ZK" state init --data-dir "$WORK/chunks/d" --genesis "$WORK/chunks/genesis.json" >/dev/null
"$ZK" execute --data-dir "$WORK/chunks/d" --txs "$WORK/chunks/txs.json" \
  --l1-deposits "$WORK/chunks/l1-deposits.json" --trace "$WORK/chunks/t.json" >/dev/null
ln -s "$CACHE/params" "$WORK/chunks/d/params"
ln -s "$CACHE/keys" "$WORK/chunks/d/keys"
for size in $CHUNK_SIZES; do
  "$ZK" info --chunk-size "$size" --json >"$RAW/chunks/info-$size.json"
  k=$(sed -n 's/^  "k": \([0-9]*\),$/\1/p' "$RAW/chunks/info-$size.json")
  [ -f "$CACHE/params/kzg_bn254_$k.UNSAFE-dev.srs" ] ||
    "$ZK" setup --data-dir "$WORK/chunks/d" --k "$k" >/dev/null
  echo "    $size slots a chunk (k=$k)"
  "$ZK" prove --data-dir "$WORK/chunks/d" --trace "$WORK/chunks/t.json" --chunk-size "$size" \
    --jobs 1 --json >"$RAW/chunks/prove-$size.jsonl"
done
finish chunks

echo "==> [5/$STEPS] advice cells per primitive and per slot, tree depths $DEPTHS (zkroll info)"
begin cells "zkroll info --chunk-size 1 --depth D --json   # D in $DEPTHS"
for depth in $DEPTHS; do
  "$ZK" info --chunk-size 1 --depth "$depth" --json >"$RAW/cells/info-depth-$depth.json"
done
finish cells

echo "==> [6/$STEPS] aggregation of $AGG_CHUNKS chunk proofs (chunks of 1 slot, tree depth 6: the"
echo "    end-to-end tests' circuit, whose keys the cache may hold); each takes minutes"
begin aggregation "zkroll gen-txs --out w --accounts 3 --count C --depth 6 --seed 9   # C - 1 when a fee settlement makes C + 1 steps
zkroll state init --data-dir d --genesis w/genesis.json
zkroll execute --data-dir d --txs w/txs.json --l1-deposits w/l1-deposits.json --trace t.json
zkroll prove --data-dir d --trace t.json --chunk-size 1
zkroll aggregate --data-dir d --proofs d/proofs/<trace> --capacity C --json   # C in $AGG_CHUNKS"
for chunks in $AGG_CHUNKS; do
  w="$WORK/agg-$chunks"
  # C transactions, or C - 1 when the engine appends a fee settlement: C steps, C chunks.
  found=0
  for count in "$chunks" $((chunks - 1)); do
    rm -rf "$w"
    "$ZK" gen-txs --out "$w" --accounts 3 --count "$count" --depth 6 --seed 9 >/dev/null
    "$ZK" state init --data-dir "$w/d" --genesis "$w/genesis.json" >/dev/null
    "$ZK" execute --data-dir "$w/d" --txs "$w/txs.json" --l1-deposits "$w/l1-deposits.json" \
      --trace "$w/t.json" >/dev/null
    if "$ZK" trace check "$w/t.json" | grep -q "^trace OK: $chunks steps"; then
      found=1
      break
    fi
  done
  [ "$found" -eq 1 ] || { echo "report: no workload of $chunks steps" >&2; exit 1; }
  ln -s "$CACHE/params" "$w/d/params"
  ln -s "$CACHE/keys" "$w/d/keys"
  for k in $("$ZK" info --chunk-size 1 --depth 6 --json | sed -n 's/^  "k": \([0-9]*\),$/\1/p') 21 22; do
    [ -f "$CACHE/params/kzg_bn254_$k.UNSAFE-dev.srs" ] ||
      "$ZK" setup --data-dir "$w/d" --k "$k" >/dev/null
  done
  "$ZK" prove --data-dir "$w/d" --trace "$w/t.json" --chunk-size 1 --json >/dev/null
  proofs=$(echo "$w"/d/proofs/*)
  echo "    $chunks chunks ($(ls "$proofs" | grep -c '^chunk-') chunk proofs)"
  "$ZK" aggregate --data-dir "$w/d" --proofs "$proofs" --capacity "$chunks" --json \
    >"$RAW/aggregation/aggregate-$chunks.jsonl"
done
finish aggregation

echo "==> [7/$STEPS] L1 gas: the final proof of ${AGG_CHUNKS%% *} chunks in revm (gen-verifier --report), and"
echo "    submitBatch behind a stand-in verifier for batches of 8 to 256 transactions"
first=${AGG_CHUNKS%% *}
begin gas "zkroll gen-verifier --data-dir d --out contracts --chunk-size 1 --depth 6 --capacity $first --report --proof d/proofs/<trace>/final.json --allow-unsafe-dev-params
ZKROLL_REPORT_GAS=batches.json cargo test --release --workspace --test it -- submit_batch_gas"
w="$WORK/agg-$first"
"$ZK" gen-verifier --data-dir "$w/d" --out "$w/contracts" --chunk-size 1 --depth 6 \
  --capacity "$first" --report --proof "$(echo "$w"/d/proofs/*)/final.json" \
  --allow-unsafe-dev-params 2>&1 | grep -E 'gas|runtime' || true
cp "$w/contracts/gas.json" "$RAW/gas/gas.json"
# --workspace: the test executables CI builds (with -p, cargo resolves features for that
# package alone and rebuilds much of the stack).
ZKROLL_REPORT_GAS="$RAW/gas/batches.json" cargo test --release --locked \
  --workspace --test it -- submit_batch_gas --quiet 2>&1 | grep -E 'test result' || true
[ -f "$RAW/gas/batches.json" ] || { echo "report: the stand-in gas measurement wrote nothing" >&2; exit 1; }
finish gas

echo "==> collecting $RAW into $OUT/report/report.json and rendering $OUT/report.md"
"$REPORT" collect --raw "$RAW" --out "$OUT/report/report.json"
"$REPORT" render --data "$OUT/report/report.json" --out "$OUT"
