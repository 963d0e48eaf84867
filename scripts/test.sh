#!/usr/bin/env bash
# Runs every zkroll check: formatting, clippy, and all tests (built with optimisation, in
# the release profile the demo also uses, so the stack is compiled once per machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/zkroll-target}
scripts/setup.sh
echo "==> testing setup's checks on made-up machines (scripts/tests/setup.sh)"
scripts/tests/setup.sh >/dev/null

# Stale test executables and keys of older circuit versions pile up in the shared caches with
# every change; they once filled this machine's disk (the linker died with a bus error).
echo "==> pruning stale executables and keys from the shared caches (scripts/prune-caches.sh)"
scripts/prune-caches.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy (release profile, all targets, warnings are errors)"
cargo clippy --release --workspace --all-targets --locked -- -D warnings

echo "==> building tests (release profile; target dir $CARGO_TARGET_DIR)"
cargo test --release --workspace --locked --no-run

# The GPU MSM kernels run on PoCL's CPU device (installed by setup.sh) and must not be
# skipped: a test that finds no OpenCL device fails under this variable.
echo "==> running tests (the GPU MSM kernels on an OpenCL device: required)"
ZKROLL_REQUIRE_OPENCL=1 cargo test --release --workspace --locked

# Alone, so that no other proof competes for memory (an aggregation proof peaks at ~13 GiB).
# Parameters and keys are cached in ~/.cache/zkroll-params (ZKROLL_CACHE) across runs.
# Then the prover service's with 3 workers on NATS: 4 chunks over HTTP, kill -9 of the service
# while a worker proves the aggregation node, restart, the job completes keeping its finished
# proofs, final proof on the EVM.
echo "==> end-to-end: transactions -> chunk proofs -> aggregation -> EVM, then the same through"
echo "    zkroll serve across a kill -9 (one at a time)"
# `--workspace` (the filters match only these two, in the CLI's test binary): with `-p zkroll`
# cargo resolves features for that package alone and rebuilt half the workspace (1 m 45 s).
cargo test --release --locked --workspace --test it -- --ignored --test-threads=1 --nocapture \
  whole_pipeline_to_the_evm service_job_survives_kill_9
