#!/usr/bin/env bash
# The main zkroll job, end to end on a fresh machine: build, create a genesis state,
# generate and sign random transactions (a few of them invalid on purpose), execute them
# into a batch trace, re-check the trace without the database, check the stored state, and
# print the statistics of the chunk circuit that proves such batches; then the whole proving
# pipeline on a small batch: chunk proofs in parallel, aggregation into one final proof, and
# that proof verified by the generated Solidity verifier and Rollup.sol in an in-process EVM
# (revm), with the L1 gas: the batch's deposits queued on L1 first, its withdrawal claimed after.
# Parameters and keys are cached in ~/.cache/zkroll-params, so a
# second run skips the setup and key generation (the first run generates the aggregation
# keys: several minutes).
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
echo "==> generating $TXS signed transactions for 32 accounts (+5 invalid ones) in $WORK: the deposits"
echo "    become entries of the L1 deposit queue (l1-deposits.json), the rest goes to the operator (txs.json)"
"$ZK" gen-txs --out "$WORK" --accounts 32 --count "$TXS" --invalid 5 --seed 7
echo "==> initialising the state (RocksDB in $WORK/state)"
"$ZK" state init --data-dir "$WORK/state" --genesis "$WORK/genesis.json"
echo "==> executing the batch"
"$ZK" execute --data-dir "$WORK/state" --txs "$WORK/txs.json" --l1-deposits "$WORK/l1-deposits.json" \
  --trace "$WORK/batch-0.json"
echo "==> re-checking the trace without the database"
"$ZK" trace check "$WORK/batch-0.json"
echo "==> checking the stored state"
"$ZK" state check --data-dir "$WORK/state"
echo "==> chunk circuit that will prove such batches (8 slots, tree depth 24)"
"$ZK" info --chunk-size 8
SMALL="$WORK/proving"
# 7 transactions and the fee settlement the engine appends: 8 steps, 2 chunks of 4 (the
# aggregation tree's capacity).
echo "==> proving pipeline on a small batch: 7 transactions and the fee settlement, chunks of 4 slots, tree depth 24 ($SMALL)"
# Seed 7: 3 deposits (queued on L1), 3 transfers and a withdrawal, claimed on L1 at the end.
"$ZK" gen-txs --out "$SMALL" --accounts 4 --count 7 --seed 7
"$ZK" state init --data-dir "$SMALL/state" --genesis "$SMALL/genesis.json"
"$ZK" execute --data-dir "$SMALL/state" --txs "$SMALL/txs.json" --l1-deposits "$SMALL/l1-deposits.json" \
  --trace "$SMALL/batch-0.json"
K=$("$ZK" info --chunk-size 4 --json | sed -n 's/^  "k": \([0-9]*\),$/\1/p')
PARAMS=${ZKROLL_PARAMS_DIR:-$HOME/.cache/zkroll-params}
mkdir -p "$PARAMS/params" "$PARAMS/keys"
# The data directory shares the cache's parameters and keys (new keys land in the cache).
ln -s "$PARAMS/params" "$SMALL/state/params"
ln -s "$PARAMS/keys" "$SMALL/state/keys"
for k in "$K" 21; do
  if [ ! -f "$PARAMS/params/kzg_bn254_$k.UNSAFE-dev.srs" ]; then
    echo "==> KZG parameters k=$k (UNSAFE development ones, cached in $PARAMS)"
    "$ZK" setup --data-dir "$SMALL/state" --k "$k"
  fi
done
echo "==> chunk proofs (2 chunks of 4 slots, k=$K), in parallel as memory allows"
SECONDS=0
"$ZK" prove --data-dir "$SMALL/state" --trace "$SMALL/batch-0.json" --chunk-size 4
PROVE_S=$SECONDS
PROOFS=$(echo "$SMALL"/state/proofs/*)
echo "==> verifying every chunk proof"
for proof in "$PROOFS"/chunk-*.json; do
  "$ZK" verify "$proof" --data-dir "$SMALL/state"
done
echo "==> aggregating the chunk proofs into one final proof (k=21 layers; peak RSS ~13 GiB)"
echo "    on a 2-core machine: ~5 min for the layer-1 proof, ~3 min for the final one; on the"
echo "    first run their keys are generated before (~3 and ~1.5 min), then cached in $PARAMS/keys"
SECONDS=0
"$ZK" aggregate --data-dir "$SMALL/state" --proofs "$PROOFS"
AGG_S=$SECONDS
echo "==> the final proof: native verifier, then on L1 in revm: the batch's deposits queued"
echo "    (Rollup.deposit), the batch submitted (verifier + Rollup.submitBatch), its withdrawal"
echo "    claimed (Rollup.withdraw)"
"$ZK" verify "$PROOFS/final.json" --data-dir "$SMALL/state" --evm 2>&1 | tee "$SMALL/evm.txt"
GAS=$(sed -n 's/.*accepted on the EVM.*(\([0-9]*\) gas)$/\1/p' "$SMALL/evm.txt")
TRANSFERS=$(grep -c '"transfer"' "$SMALL/txs.json" || true)
echo "==> L1 contracts in $SMALL/contracts (from the development parameters this demo generated:"
echo "    their secret is public, so --allow-unsafe-dev-params; a real deployment imports a ceremony's)"
"$ZK" gen-verifier --data-dir "$SMALL/state" --out "$SMALL/contracts" --chunk-size 4 --report \
  --allow-unsafe-dev-params
CLAIMED=$(grep -c 'Rollup.withdraw: .* claimed' "$SMALL/evm.txt" || true)
if [ "${CLAIMED:-0}" -lt 1 ]; then
  echo "error: no withdrawal of the batch was claimed on L1" >&2
  exit 1
fi
echo "==> done: chunk proofs ${PROVE_S} s, aggregation ${AGG_S} s; L1 gas per batch ${GAS:-?};"
echo "    $CLAIMED withdrawal(s) claimed on L1 after the batch"
if [ -n "$GAS" ] && [ "${TRANSFERS:-0}" -gt 0 ]; then
  echo "    L1 gas per transfer: $((GAS / TRANSFERS)) ($TRANSFERS transfers in the batch)"
fi
echo "    trace at $WORK/batch-0.json, proofs under $PROOFS"
