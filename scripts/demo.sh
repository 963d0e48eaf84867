#!/usr/bin/env bash
# The main zkroll job, end to end on a fresh machine: build, create a genesis state,
# generate and sign random transactions (a few of them invalid on purpose), execute them
# into a batch trace, re-check the trace without the database, check the stored state, and
# print the statistics of the chunk circuit that proves such batches; then the whole proving
# pipeline on a small batch driven from a local L1 devnet node (hardhat): the contracts
# deployed there, the batch's deposits queued on L1 by their users and read back into the
# engine, chunk proofs in parallel, aggregation into one final proof, checked in an in-process
# EVM (revm) for the gas split, then submitted to the node, and its withdrawal claimed there.
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
# hardhat's well-known development accounts: the operator deploys and submits, a user queues
# the deposits, the claimant receives the withdrawal (public keys: devnet only).
OPERATOR_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
USER_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
CLAIMANT_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
CLAIMANT=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
DEVNET_PORT=${ZKROLL_DEVNET_PORT:-8545}
# 7 transactions and the fee settlement the engine appends: 8 steps, 2 chunks of 4 (the
# aggregation tree's capacity).
echo "==> proving pipeline on a small batch: 7 transactions and the fee settlement, chunks of 4 slots, tree depth 24 ($SMALL)"
# Seed 7: 3 deposits (queued on L1), 3 transfers and a withdrawal to the claimant.
"$ZK" gen-txs --out "$SMALL" --accounts 4 --count 7 --seed 7 --withdraw-to "$CLAIMANT"
"$ZK" state init --data-dir "$SMALL/state" --genesis "$SMALL/genesis.json"
K=$("$ZK" info --chunk-size 4 --json | sed -n 's/^  "k": \([0-9]*\),$/\1/p')
PARAMS=${ZKROLL_PARAMS_DIR:-$HOME/.cache/zkroll-params}
mkdir -p "$PARAMS/params" "$PARAMS/keys"
# The data directory shares the cache's parameters and keys (new keys land in the cache).
ln -s "$PARAMS/params" "$SMALL/state/params"
ln -s "$PARAMS/keys" "$SMALL/state/keys"
for k in "$K" 21 22; do
  if [ ! -f "$PARAMS/params/kzg_bn254_$k.UNSAFE-dev.srs" ]; then
    echo "==> KZG parameters k=$k (UNSAFE development ones, cached in $PARAMS)"
    "$ZK" setup --data-dir "$SMALL/state" --k "$k"
  fi
done
echo "==> L1 contracts in $SMALL/contracts (from the development parameters this demo generated:"
echo "    their secret is public, so --allow-unsafe-dev-params; a real deployment imports a ceremony's);"
echo "    on the first run the aggregation keys are generated here (~5 min), then cached in $PARAMS/keys"
"$ZK" gen-verifier --data-dir "$SMALL/state" --out "$SMALL/contracts" --chunk-size 4 --report \
  --allow-unsafe-dev-params
echo "==> L1 devnet node (hardhat, pinned in verifier-contract/package-lock.json) on 127.0.0.1:$DEVNET_PORT"
scripts/devnet.sh start "$SMALL/devnet" "$DEVNET_PORT"
trap 'scripts/devnet.sh stop "$SMALL/devnet"' EXIT
export ZKROLL_L1_RPC="http://127.0.0.1:$DEVNET_PORT"
echo "==> deploying the verifier, Poseidon contracts and Rollup at the genesis state"
ZKROLL_L1_KEY=$OPERATOR_KEY "$ZK" l1 deploy --data-dir "$SMALL/state" --contracts "$SMALL/contracts" \
  --out "$SMALL/deployment.json"
echo "==> the users' deposits, queued on L1 (Rollup.deposit, ETH locked)"
ZKROLL_L1_KEY=$USER_KEY "$ZK" l1 deposit --deployment "$SMALL/deployment.json" --file "$SMALL/l1-deposits.json"
echo "==> the engine reads the queue from the node, then executes the batch"
"$ZK" l1 sync --deployment "$SMALL/deployment.json" --data-dir "$SMALL/state" --out "$SMALL/synced.json"
"$ZK" execute --data-dir "$SMALL/state" --txs "$SMALL/txs.json" --l1-deposits "$SMALL/synced.json" \
  --trace "$SMALL/batch-0.json"
echo "==> chunk proofs (2 chunks of 4 slots, k=$K), in parallel as memory allows"
SECONDS=0
"$ZK" prove --data-dir "$SMALL/state" --trace "$SMALL/batch-0.json" --chunk-size 4
PROVE_S=$SECONDS
PROOFS=$(echo "$SMALL"/state/proofs/*)
echo "==> verifying every chunk proof"
for proof in "$PROOFS"/chunk-*.json; do
  "$ZK" verify "$proof" --data-dir "$SMALL/state"
done
echo "==> aggregating the chunk proofs into one final proof: the final node verifies both chunk"
echo "    proofs (k=22; peak RSS ~13 GiB); on a 2-core machine ~4 min, plus ~2 min of key generation"
echo "    on the first run"
SECONDS=0
"$ZK" aggregate --data-dir "$SMALL/state" --proofs "$PROOFS"
AGG_S=$SECONDS
echo "==> the final proof: native verifier, then in revm for the gas split (verifier, pairing,"
echo "    ecMul, calldata)"
"$ZK" verify "$PROOFS/final.json" --data-dir "$SMALL/state" --evm 2>&1 | tee "$SMALL/evm.txt"
TRANSFERS=$(grep -c '"transfer"' "$SMALL/txs.json" || true)
echo "==> the batch submitted to the node (Rollup.submitBatch: proof, pubdata, queued deposits)"
ZKROLL_L1_KEY=$OPERATOR_KEY "$ZK" l1 submit --deployment "$SMALL/deployment.json" --proof "$PROOFS/final.json" \
  | tee "$SMALL/submit.txt"
GAS=$(sed -n 's/.*submitBatch \([0-9]*\) gas.*/\1/p' "$SMALL/submit.txt")
echo "==> the withdrawal claimed on the node by its recipient ($CLAIMANT)"
"$ZK" l1 status --deployment "$SMALL/deployment.json" --address "$CLAIMANT"
ZKROLL_L1_KEY=$CLAIMANT_KEY "$ZK" l1 withdraw --deployment "$SMALL/deployment.json" | tee "$SMALL/withdraw.txt"
if ! grep -q '^withdrew [1-9][0-9]* wei' "$SMALL/withdraw.txt"; then
  echo "error: no withdrawal of the batch was claimed on L1" >&2
  exit 1
fi
echo "==> done: chunk proofs ${PROVE_S} s, aggregation ${AGG_S} s; L1 gas per batch ${GAS:-?} on the node;"
echo "    $(cat "$SMALL/withdraw.txt")"
if [ -n "$GAS" ] && [ "${TRANSFERS:-0}" -gt 0 ]; then
  echo "    L1 gas per transfer: $((GAS / TRANSFERS)) ($TRANSFERS transfers in the batch)"
fi
echo "    trace at $WORK/batch-0.json, proofs under $PROOFS"
