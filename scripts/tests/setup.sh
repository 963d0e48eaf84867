#!/usr/bin/env bash
# Tests the decisions of scripts/setup.sh's checks on made-up machines (fake libraries and
# fake tools in a temporary directory): each check must refuse what the step that uses it
# cannot use (as the old libclang check did not: it took the runtime libclang.so.1 for
# libclang-dev) and accept what it can. No installs, no network, a few seconds; run by
# scripts/test.sh.
set -euo pipefail
# shellcheck source=../setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/../setup.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect pass|fail "what" 'commands': runs the commands in a subshell.
expect() {
  local want=$1 what=$2 code=$3 out got
  if out=$(eval "$code" 2>&1); then got=pass; else got=fail; fi
  if [ "$got" = "$want" ]; then
    printf '    ok  %-70s %s\n' "$what" "${out:0:60}"
  else
    echo "FAILED  $what: expected $want, got $got: $out" >&2
    failures=$((failures + 1))
  fi
}

# A tool directory with only the basic tools the checks use, and fakes added per test.
basic="$tmp/basic"
mkdir -p "$basic"
for tool in od tr sed head sort grep cat printf; do ln -s "$(command -v "$tool")" "$basic/$tool"; done
fake() { # fake DIR NAME OUTPUT: an executable printing OUTPUT
  mkdir -p "$1"
  printf '#!/bin/sh\ncat <<"OUT"\n%s\nOUT\n' "$3" >"$1/$2"
  chmod +x "$1/$2"
}

# libclang: the header bytes clang-sys reads (ELF magic, then class 2 = 64-bit).
elf() { mkdir -p "$(dirname "$1")"; printf "\\177ELF\\00$2" >"$1"; }
elf "$tmp/runtime-only/libclang.so.1" 2
elf "$tmp/runtime-only/libclang-14.so.1" 2
elf "$tmp/cpp-only/libclang-cpp.so" 2
elf "$tmp/cpp-only/libclang-cpp.so.14" 2
elf "$tmp/dev/libclang.so" 2
elf "$tmp/versioned/libclang-14.so" 2
elf "$tmp/32-bit/libclang.so" 1
printf 'not a library' >"$tmp/text.so" && mkdir -p "$tmp/text" && mv "$tmp/text.so" "$tmp/text/libclang.so"
libclang() { echo "unset LIBCLANG_PATH; PATH=$basic; LIBCLANG_SEARCH='$1'; check_libclang"; }
expect fail "libclang: only the runtime libclang.so.1 (libclang1-14, no libclang-dev)" "$(libclang "$tmp/runtime-only")"
expect fail "libclang: only libclang-cpp" "$(libclang "$tmp/cpp-only")"
expect fail "libclang: a 32-bit libclang.so" "$(libclang "$tmp/32-bit")"
expect fail "libclang: a libclang.so that is no ELF file" "$(libclang "$tmp/text")"
expect fail "libclang: nothing" "$(libclang "$tmp/none")"
expect pass "libclang: libclang.so (libclang-dev)" "$(libclang "$tmp/runtime-only $tmp/dev")"
expect pass "libclang: libclang-14.so" "$(libclang "$tmp/versioned")"
expect pass "libclang: LIBCLANG_PATH names it" \
  "PATH=$basic; LIBCLANG_SEARCH='$tmp/none'; LIBCLANG_PATH='$tmp/dev'; check_libclang"

# The C++ compiler: runs, and compiles with the standard headers.
fake "$tmp/no-headers" c++ "c++ (fake) 12.2.0"
printf '#!/bin/sh\n[ "$1" = --version ] && echo "c++ (fake) 12.2.0" && exit 0\necho "fatal error: string: No such file" >&2; exit 1\n' >"$tmp/no-headers/c++"
expect fail "C++ compiler: none on PATH" "PATH=$basic; check_cxx"
expect fail "C++ compiler: no standard headers" "PATH=$basic:$tmp/no-headers; check_cxx"
expect pass "C++ compiler: this machine's" "check_cxx"

# node and npm versions.
fake "$tmp/old" node v8.17.0
fake "$tmp/old" npm 6.14.4
fake "$tmp/new" node v18.19.0
fake "$tmp/new" npm 9.2.0
expect fail "node: none on PATH" "PATH=$basic; check_node"
expect fail "node: v8 (solc needs >= 10)" "PATH=$basic:$tmp/old; check_node"
expect pass "node: v18" "PATH=$basic:$tmp/new; check_node"
expect fail "npm: none on PATH" "PATH=$basic; check_npm"
expect fail "npm: 6 (a lockfileVersion 3 lock file needs >= 7)" "PATH=$basic:$tmp/old; check_npm"
expect pass "npm: 9" "PATH=$basic:$tmp/new; check_npm"

# The OpenCL loader, as the dynamic linker knows it.
fake "$tmp/loader" ldconfig "	libOpenCL.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libOpenCL.so.1"
fake "$tmp/dev-only" ldconfig "	libOpenCL.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libOpenCL.so"
expect pass "OpenCL loader: libOpenCL.so.1 known" "PATH=$basic:$tmp/loader; check_opencl_loader"
expect fail "OpenCL loader: only libOpenCL.so" "PATH=$basic:$tmp/dev-only; check_opencl_loader"

# PoCL, as clinfo lists the platforms.
fake "$tmp/pocl" clinfo "Platform #0: Portable Computing Language
 \`-- Device #0: cpu-x86-64"
fake "$tmp/other" clinfo "Platform #0: NVIDIA CUDA"
expect pass "PoCL: listed by clinfo -l" "PATH=$basic:$tmp/pocl; check_pocl"
expect fail "PoCL: another platform only" "PATH=$basic:$tmp/other; check_pocl"
expect fail "PoCL: no clinfo" "PATH=$basic; check_pocl"

# nats-server: JetStream's object store needs 2.6.
fake "$tmp/old-nats" nats-server "nats-server: v2.2.0"
fake "$tmp/new-nats" nats-server "nats-server: v2.9.10"
expect fail "nats-server: none on PATH" "PATH=$basic; check_nats"
expect fail "nats-server: 2.2 (no object store)" "PATH=$basic:$tmp/old-nats; check_nats"
expect pass "nats-server: 2.9.10 (Debian 12's)" "PATH=$basic:$tmp/new-nats; check_nats"

# font: a TrueType file (not a missing path, not another format).
printf '\x00\x01\x00\x00rest' >"$tmp/font.ttf"
printf '<svg/>' >"$tmp/not-a-font.ttf"
expect pass "font: a TrueType file" "FONT_SEARCH='$tmp/missing.ttf $tmp/font.ttf' check_font"
expect fail "font: none there" "FONT_SEARCH='$tmp/missing.ttf' check_font"
expect fail "font: not TrueType" "FONT_SEARCH='$tmp/not-a-font.ttf' check_font"

# cargo against the workspace's rust-version.
fake "$tmp/old-cargo" cargo "cargo 1.80.0 (376290515 2024-07-16)"
fake "$tmp/new-cargo" cargo "cargo 1.95.0 (f2d3ce0bd 2026-03-21)"
expect fail "cargo: 1.80 (rust-version $RUST_VERSION)" "PATH=$basic:$tmp/old-cargo; check_cargo"
expect pass "cargo: 1.95" "PATH=$basic:$tmp/new-cargo; check_cargo"

# solc: the real compile.js with the installed solcjs, and a version it does not have.
expect pass "solc: compile.js compiles with the pinned $SOLC_VERSION" "check_solc"
expect fail "solc: another version than the one installed" "SOLC_VERSION=0.8.20; check_solc"

if [ "$failures" -gt 0 ]; then
  echo "scripts/tests/setup.sh: $failures check decisions wrong" >&2
  exit 1
fi
echo "scripts/tests/setup.sh: every check decided right"
