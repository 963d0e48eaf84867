#!/usr/bin/env bash
# Installs what building zkroll needs on a fresh Debian machine: clang and libclang-dev
# (RocksDB's bindings are generated with bindgen), Node.js and npm (solcjs compiles the L1
# contracts), an OpenCL loader and PoCL (a CPU OpenCL platform: the GPU MSM kernels are
# tested on it where there is no GPU), then the npm packages of verifier-contract/ from its lock file. Everything else
# comes from crates.io through cargo. Safe to run repeatedly: it installs only what is
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so\.1' || need+=(ocl-icd-libopencl1)
ls /etc/OpenCL/vendors/pocl*.icd >/dev/null 2>&1 || need+=(pocl-opencl-icd)
if ((${#need[@]})); then
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "error: missing ${need[*]}; install them (sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null 2>&1 || { echo "error: cargo not found (install Rust with rustup)" >&2; exit 1; }

# solcjs (the npm `solc` package, version pinned by package.json and package-lock.json).
if [ ! -f verifier-contract/node_modules/solc/package.json ] ||
  [ verifier-contract/package-lock.json -nt verifier-contract/node_modules/.package-lock.json ]; then
  echo "==> installing the Solidity compiler (npm ci in verifier-contract/)"
  (cd verifier-contract && npm ci --no-audit --no-fund --loglevel=error)
fi
