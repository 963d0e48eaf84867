#!/usr/bin/env bash
# A local L1 devnet node for the demo: hardhat's node (the version pinned in
# verifier-contract/package-lock.json, installed by scripts/setup.sh), on loopback only.
#   scripts/devnet.sh start DIR [PORT]   start it (PORT default 8545); DIR gets pid, url and
#                                        node.log; returns once the node answers JSON-RPC
#   scripts/devnet.sh stop DIR           stop it
# Its accounts are hardhat's well-known development accounts (10,000 ETH each; their keys
# are public: never use them on a real chain). The tests start their own node on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:?usage: scripts/devnet.sh start|stop DIR [PORT]}
dir=${2:?usage: scripts/devnet.sh start|stop DIR [PORT]}
case "$cmd" in
start)
  port=${3:-8545}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  hardhat=verifier-contract/node_modules/.bin/hardhat
  if [ ! -x "$hardhat" ]; then
    echo "devnet: $hardhat missing: run scripts/setup.sh" >&2
    exit 1
  fi
  # Run from verifier-contract/ (hardhat wants its local installation), in a session of its
  # own so that stop ends the node and any process it starts.
  (cd verifier-contract && HARDHAT_DISABLE_TELEMETRY_PROMPT=true exec setsid node_modules/.bin/hardhat \
    --config devnet/hardhat.config.js node --hostname 127.0.0.1 --port "$port" >"$dir/node.log" 2>&1) &
  echo $! >"$dir/pid"
  url="http://127.0.0.1:$port"
  echo "$url" >"$dir/url"
  for _ in $(seq 1 150); do
    if node -e '
      fetch(process.argv[1], {method: "POST", headers: {"content-type": "application/json"},
        body: JSON.stringify({jsonrpc: "2.0", id: 1, method: "eth_chainId", params: []})})
        .then(r => r.json()).then(j => process.exit(j.result ? 0 : 1), () => process.exit(1));' "$url" 2>/dev/null; then
      exit 0
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "devnet: the node exited; its log:" >&2
      cat "$dir/node.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "devnet: no answer on $url after 30 s (log: $dir/node.log)" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    kill -TERM -- "-$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid"
  fi
  ;;
*)
  echo "usage: scripts/devnet.sh start|stop DIR [PORT]" >&2
  exit 2
  ;;
esac
