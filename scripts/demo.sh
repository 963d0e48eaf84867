#!/usr/bin/env bash
# The main zkroll job, end to end on a fresh machine: build, create a genesis state,
# generate and sign random transactions (a few of them invalid on purpose), execute them
# into a batch trace, re-check the trace without the database, check the stored state, and
# print the statistics of the chunk circuit that proves such batches; then the proving
# pipeline on a small batch (params and keys cached in ~/.cache/zkroll-params, so a second
# run skips the setup and key generation).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/zkroll-target}
scripts/setup.sh

WORK=${ZKROLL_DEMO_DIR:-target/demo}
TXS=${ZKROLL_DEMO_TXS:-300}
echo "==> building zkroll (release; first build on a machine takes ~12 minutes, mostly RocksDB)"
cargo build --release --locked -p zkroll
ZK="$CARGO_TARGET_DIR/release/zkroll"

rm -rf "$WORK"
echo "==> generating $TXS signed transactions for 32 accounts (+5 invalid ones) in $WORK"
"$ZK" gen-txs --out "$WORK" --accounts 32 --count "$TXS" --invalid 5 --seed 7
echo "==> initialising the state (RocksDB in $WORK/state)"
"$ZK" state init --data-dir "$WORK/state" --genesis "$WORK/genesis.json"
echo "==> executing the batch"
"$ZK" execute --data-dir "$WORK/state" --txs "$WORK/txs.json" --trace "$WORK/batch-0.json"
echo "==> re-checking the trace without the database"
"$ZK" trace check "$WORK/batch-0.json"
echo "==> checking the stored state"
"$ZK" state check --data-dir "$WORK/state"
echo "==> chunk circuit that will prove such batches (8 slots, tree depth 24)"
"$ZK" info --chunk-size 8
SMALL="$WORK/proving"
echo "==> proving pipeline on a small batch: 8 transactions, chunks of 4 slots, tree depth 24 ($SMALL)"
"$ZK" gen-txs --out "$SMALL" --accounts 4 --count 8 --seed 11
"$ZK" state init --data-dir "$SMALL/state" --genesis "$SMALL/genesis.json"
"$ZK" execute --data-dir "$SMALL/state" --txs "$SMALL/txs.json" --trace "$SMALL/batch-0.json"
K=$("$ZK" info --chunk-size 4 --json | sed -n 's/^  "k": \([0-9]*\),$/\1/p')
PARAMS=${ZKROLL_PARAMS_DIR:-$HOME/.cache/zkroll-params}
echo "==> KZG parameters k=$K (UNSAFE development ones, cached in $PARAMS) and chunk proofs"
[ -f "$PARAMS/params/kzg_bn254_$K.UNSAFE-dev.srs" ] || "$ZK" setup --data-dir "$PARAMS" --k "$K"
mkdir -p "$SMALL/state/params"
cp "$PARAMS/params/kzg_bn254_$K.UNSAFE-dev.srs" "$SMALL/state/params/"
[ -d "$PARAMS/keys" ] && cp -r "$PARAMS/keys" "$SMALL/state/"
time "$ZK" prove --data-dir "$SMALL/state" --trace "$SMALL/batch-0.json" --chunk-size 4
cp -r "$SMALL/state/keys" "$PARAMS/"
echo "==> verifying every chunk proof"
for proof in "$SMALL"/state/proofs/*/chunk-*.json; do
  "$ZK" verify "$proof" --data-dir "$SMALL/state"
done
echo "==> done: trace at $WORK/batch-0.json, proofs under $SMALL/state/proofs"
