#!/usr/bin/env bash
# Regenerates the external test vectors (Poseidon from poseidon-lite, EdDSA-Poseidon from
# @zk-kit/eddsa-poseidon) into engine/tests/vectors/. The npm packages are pinned in
# scripts/vectors/package.json and its lock file; `npm ci` installs exactly those.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> installing the pinned npm packages (scripts/vectors)"
(cd scripts/vectors && npm ci --no-audit --no-fund --loglevel=error)
echo "==> generating vectors"
node scripts/vectors/generate.mjs engine/tests/vectors
