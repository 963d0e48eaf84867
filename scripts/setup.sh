#!/usr/bin/env bash
# Installs what building and testing zkroll needs on a fresh Debian machine, then checks each
# requirement the way the step that uses it does:
#
#   requirement     Debian package       used by, and what the check tests
#   C++ compiler    g++                  RocksDB's C++ (cc crate): `c++` compiles C++20
#                                        with the standard headers
#   clang           clang                bindgen asks it for the system include paths
#   libclang        libclang-dev         bindgen's clang-sys links libclang at build time: it
#                                        needs `libclang.so` or `libclang-<N>.so` (64-bit ELF)
#                                        where clang-sys looks; the runtime `libclang.so.1`
#                                        (libclang1-14) and libclang-cpp do not do
#   node            nodejs               solcjs: `node` >= 10 (solc's engines)
#   npm             npm                  `npm ci` of a lockfileVersion 3 lock file: npm >= 7
#   OpenCL loader   ocl-icd-libopencl1   the GPU MSM backend loads `libOpenCL.so.1`
#   clinfo          clinfo               lists the OpenCL platforms for the next check
#   PoCL            pocl-opencl-icd      a CPU OpenCL platform, listed by `clinfo -l`: CI runs
#                                        the GPU MSM kernels on it
#   nats-server     nats-server          the task bus of distributed proving (`zkroll worker`),
#                                        started on loopback by the tests: JetStream's object
#                                        store needs `nats-server --version` >= 2.6
#   font            fonts-dejavu-core    the benchmark report's plots (scripts/report.sh, and its
#                                        rendering test): a TrueType sans-serif font where
#                                        zkroll-report looks (DejaVu Sans)
#   solc            (npm ci)             `node verifier-contract/compile.js` compiles a contract
#                                        with the solc version pinned in package.json
#   hardhat         (npm ci)             the devnet node of the L1 tests and the demo
#                                        (scripts/devnet.sh): `hardhat --version` prints the
#                                        version pinned in package.json
#   cargo           (rustup)             `cargo` at least the workspace's rust-version
#
#   scripts/setup.sh          installs what a check finds missing (Debian packages when run as
#                             root; otherwise it names them and fails), `npm ci` in
#                             verifier-contract/, then runs every check
#   scripts/setup.sh --check  only the checks, a line each; the first one that fails ends it
#                             with one line naming what is missing (exit 1)
#
# Safe to run repeatedly: it installs only what a check finds missing.
#
# scripts/tests/setup.sh sources this file (the checks only, nothing runs) to test the
# checks' decisions on made-up machines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Each check prints what it found on success, or the reason on failure (exit status 1).

# The cc crate compiles RocksDB with `c++`: it must run and find the C++ standard headers.
check_cxx() {
  local v
  v=$(c++ --version 2>/dev/null | head -1) || { echo "no C++ compiler (c++ not on PATH)"; return 1; }
  printf '#include <cstdint>\n#include <string>\nint main() { return std::string("x").size(); }\n' |
    c++ -std=c++20 -x c++ -fsyntax-only - 2>/dev/null ||
    { echo "$v cannot compile C++20 with the standard library headers"; return 1; }
  echo "$v"
}

check_clang() {
  command -v clang >/dev/null 2>&1 || { echo "no clang on PATH"; return 1; }
  clang --version | head -1
}

# clang-sys (bindgen's loader, linking at build time) searches LIBCLANG_PATH, `llvm-config
# --libdir`, then these directory patterns, for these two names, and takes a 64-bit ELF
# (clang-sys 1.9 build/common.rs and build/dynamic.rs).
# LIBCLANG_SEARCH replaces those patterns in the tests.
check_libclang() {
  local dirs=() d f
  if [ -n "${LIBCLANG_PATH:-}" ]; then dirs+=("$LIBCLANG_PATH"); fi
  if command -v llvm-config >/dev/null 2>&1; then dirs+=("$(llvm-config --libdir)"); fi
  shopt -s nullglob
  # shellcheck disable=SC2206 # the patterns are meant to expand
  dirs+=(${LIBCLANG_SEARCH:-/usr/local/llvm*/lib* /usr/local/lib*/*/* /usr/local/lib*/* \
    /usr/local/lib* /usr/lib*/*/* /usr/lib*/* /usr/lib*})
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    for f in "$d"/libclang.so "$d"/libclang-[0-9]*.so; do
      if [ -f "$f" ] && [ "$(od -An -tx1 -j4 -N1 "$f" | tr -d ' ')" = 02 ]; then
        shopt -u nullglob
        echo "$f"
        return 0
      fi
    done
  done
  shopt -u nullglob
  echo "no libclang.so or libclang-<N>.so where bindgen's clang-sys looks (libclang.so.1 alone cannot be linked)"
  return 1
}

# The major version of `$1 --version` (node prints v20.1.0, npm 9.2.0), or nothing.
major_version() {
  "$1" --version 2>/dev/null | sed -n 's/^v\{0,1\}\([0-9][0-9]*\)\..*/\1/p' | head -1
}

check_node() {
  local major
  major=$(major_version node)
  [ -n "$major" ] || { echo "no node on PATH"; return 1; }
  [ "$major" -ge 10 ] || { echo "node $(node --version) is older than solc's minimum (10)"; return 1; }
  echo "node $(node --version)"
}

check_npm() {
  local major
  major=$(major_version npm)
  [ -n "$major" ] || { echo "no npm on PATH"; return 1; }
  [ "$major" -ge 7 ] || { echo "npm $(npm --version) cannot install a lockfileVersion 3 lock file (needs >= 7)"; return 1; }
  echo "npm $(npm --version)"
}

check_opencl_loader() {
  local lib
  lib=$(ldconfig -p 2>/dev/null | sed -n 's/^[[:space:]]*libOpenCL\.so\.1 (.*) => \(.*\)$/\1/p' | head -1)
  [ -n "$lib" ] || { echo "no libOpenCL.so.1 known to the dynamic linker (ldconfig -p)"; return 1; }
  echo "$lib"
}

check_clinfo() {
  command -v clinfo >/dev/null 2>&1 || { echo "no clinfo on PATH"; return 1; }
  command -v clinfo
}

check_pocl() {
  local platform
  platform=$(clinfo -l 2>/dev/null | grep -m1 'Portable Computing Language') ||
    { echo "no PoCL platform listed by clinfo -l (the GPU MSM kernels are tested on it)"; return 1; }
  echo "${platform#*: }"
}

check_nats() {
  local v
  v=$(nats-server --version 2>/dev/null | sed -n 's/^nats-server: v\([0-9][0-9.]*\).*/\1/p') || true
  [ -n "$v" ] || { echo "no nats-server on PATH"; return 1; }
  if [ "$(printf '2.6.0\n%s\n' "$v" | sort -V | head -1)" != "2.6.0" ]; then
    echo "nats-server $v is older than 2.6 (JetStream's object store)"
    return 1
  fi
  echo "nats-server $v"
}

# The first of zkroll-report's font paths (benches/src/report/plot.rs, FONT_CANDIDATES) that
# is a TrueType file. FONT_SEARCH replaces the paths in the tests.
check_font() {
  local f
  for f in ${FONT_SEARCH:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/TTF/DejaVuSans.ttf \
    /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf /usr/share/fonts/dejavu/DejaVuSans.ttf}; do
    # TrueType files start with 00 01 00 00 (or "true").
    if [ -f "$f" ] && case "$(od -An -tx1 -N4 "$f" | tr -d ' ')" in 00010000 | 74727565) true ;; *) false ;; esac; then
      echo "$f"
      return 0
    fi
  done
  echo "no TrueType font where zkroll-report looks (DejaVu Sans)"
  return 1
}

SOLC_VERSION=$(sed -n 's/^ *"solc": "\([^"]*\)".*/\1/p' verifier-contract/package.json)

check_solc() {
  local out
  out=$(printf '{"sources":{"SetupCheck.sol":"// SPDX-License-Identifier: MIT\\npragma solidity %s;\\ncontract SetupCheck {}"},"optimize":false}' \
    "$SOLC_VERSION" | node verifier-contract/compile.js 2>&1) ||
    { echo "node verifier-contract/compile.js failed: $(echo "$out" | head -1)"; return 1; }
  case "$out" in
    *'"SetupCheck":{"bytecode":"6'*'"version":"'"$SOLC_VERSION"'+'*) echo "solcjs $SOLC_VERSION" ;;
    *) echo "verifier-contract/compile.js did not compile with solc $SOLC_VERSION: ${out:0:120}"; return 1 ;;
  esac
}

HARDHAT_VERSION=$(sed -n 's/^ *"hardhat": "\([^"]*\)".*/\1/p' verifier-contract/package.json)

check_hardhat() {
  local v
  v=$(cd verifier-contract && HARDHAT_DISABLE_TELEMETRY_PROMPT=true \
    node_modules/.bin/hardhat --config devnet/hardhat.config.js --version 2>/dev/null) ||
    { echo "no hardhat in verifier-contract/node_modules (npm ci)"; return 1; }
  [ "$v" = "$HARDHAT_VERSION" ] ||
    { echo "hardhat $v installed, package.json pins $HARDHAT_VERSION (npm ci)"; return 1; }
  echo "hardhat $v"
}

RUST_VERSION=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)

check_cargo() {
  local v
  v=$(cargo --version 2>/dev/null | sed -n 's/^cargo \([0-9][0-9.]*\).*/\1/p') ||
    true
  [ -n "$v" ] || { echo "no cargo on PATH (install Rust with rustup)"; return 1; }
  if [ "$(printf '%s\n%s\n' "$RUST_VERSION" "$v" | sort -V | head -1)" != "$RUST_VERSION" ]; then
    echo "cargo $v is older than the workspace's rust-version $RUST_VERSION (rustup update)"
    return 1
  fi
  echo "cargo $v"
}

# name, check, what installs it ("deb:<package>", "npm" or "rustup"), in the order that a
# check may rely on the ones before it.
REQUIREMENTS=(
  "C++ compiler|check_cxx|deb:g++"
  "clang|check_clang|deb:clang"
  "libclang|check_libclang|deb:libclang-dev"
  "node|check_node|deb:nodejs"
  "npm|check_npm|deb:npm"
  "OpenCL loader|check_opencl_loader|deb:ocl-icd-libopencl1"
  "clinfo|check_clinfo|deb:clinfo"
  "PoCL|check_pocl|deb:pocl-opencl-icd"
  "nats-server|check_nats|deb:nats-server"
  "font|check_font|deb:fonts-dejavu-core"
  "solc|check_solc|npm"
  "hardhat|check_hardhat|npm"
  "cargo|check_cargo|rustup"
)

# Every check in order, a line each; the first failure ends with one line naming it.
run_checks() {
  local req name fn how out
  for req in "${REQUIREMENTS[@]}"; do
    IFS='|' read -r name fn how <<<"$req"
    if out=$($fn); then
      printf '    ok  %-14s %s\n' "$name" "$out"
    else
      echo "setup: missing $name: $out (provided by ${how#deb:}; run scripts/setup.sh as root)" >&2
      exit 1
    fi
  done
}

# Sourced by the tests: the functions only.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  return 0
fi

CHECK_ONLY=0
case "${1:-}" in
  "") ;;
  --check) CHECK_ONLY=1 ;;
  *) echo "usage: scripts/setup.sh [--check]" >&2; exit 2 ;;
esac

if [ "$CHECK_ONLY" -eq 1 ]; then
  echo "==> checking what the build and tests need (scripts/setup.sh --check)"
  run_checks
  exit 0
fi

need=()
for req in "${REQUIREMENTS[@]}"; do
  IFS='|' read -r name fn how <<<"$req"
  case "$how" in
    deb:*) $fn >/dev/null || need+=("${how#deb:}") ;;
  esac
done
if ((${#need[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: missing Debian packages ${need[*]}; install them (sudo apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
fi

# solcjs (the npm `solc` package, version pinned by package.json and package-lock.json).
if [ ! -f verifier-contract/node_modules/solc/package.json ] ||
  [ verifier-contract/package-lock.json -nt verifier-contract/node_modules/.package-lock.json ] ||
  ! check_solc >/dev/null || ! check_hardhat >/dev/null; then
  echo "==> installing the Solidity compiler and the devnet node (npm ci in verifier-contract/)"
  (cd verifier-contract && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "==> checking what the build and tests need"
run_checks
