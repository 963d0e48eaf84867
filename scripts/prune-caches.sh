#!/usr/bin/env bash
# Bounds the disk the shared caches take on a machine that runs the tests again and again
# (CI reuses this machine's caches between sessions). Once the caches filled the disk and
# the linker died with a bus error in the middle of `cargo test`.
#
# - Test and bench executables (~500 MB each, statically linked) in the target directory:
#   the newest two of each name are kept (a crate's test binary and the one built with
#   other features), older ones go (they relink when needed; libraries are kept).
# - Cached keys (ZKROLL_CACHE, default ~/.cache/zkroll-params/keys): every change of a
#   circuit version or of the chunk verifying key leaves the old keys behind (an
#   aggregation node's are 1.6-4 GB). Per family (the directory name without its version,
#   inner-key hash and k) the newest two are kept: the tests use one key per family, the
#   demo (another chunk circuit below the same node kinds) a second.
#
# Usage: scripts/prune-caches.sh   (uses CARGO_TARGET_DIR and ZKROLL_CACHE)
set -euo pipefail

target=${CARGO_TARGET_DIR:-$HOME/.cache/zkroll-target}
cache=${ZKROLL_CACHE:-$HOME/.cache/zkroll-params}

# Prints the names of `dir`'s entries matching the find(1) tests in "$@", newest first.
newest_first() {
  local dir=$1
  shift
  find "$dir" -mindepth 1 -maxdepth 1 "$@" -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2-
}

freed=0
if [ -d "$target/release/deps" ]; then
  declare -A kept=()
  while IFS= read -r name; do
    stem=${name%-*}
    kept[$stem]=$((${kept[$stem]:-0} + 1))
    if [ "${kept[$stem]}" -gt 2 ]; then
      rm -f -- "$target/release/deps/$name"
      freed=$((freed + 1))
    fi
  done < <(newest_first "$target/release/deps" -type f ! -name '*.*' -size +10M)
fi

if [ -d "$cache/keys" ]; then
  declare -A families=()
  while IFS= read -r name; do
    family=$(sed -E 's/-v[0-9]+(-inner[0-9a-f]+)?-k[0-9]+-/-/' <<<"$name")
    families[$family]=$((${families[$family]:-0} + 1))
    if [ "${families[$family]}" -gt 2 ]; then
      rm -rf -- "${cache:?}/keys/$name"
      freed=$((freed + 1))
    fi
  done < <(newest_first "$cache/keys" -type d)
fi

# Free space on the file system holding `$1` (or its nearest existing parent), in KiB.
free_kib() {
  local d=$1
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  df -k --output=avail "$d" | tail -1 | tr -d ' '
}

# A build after a change, its test executables and new aggregation keys can take ~20 GiB.
# When less is free after the pruning above, the caches go as a whole, keys first (they are
# regenerated in minutes), then the target directory (a cold build is ~15 minutes): a slow
# run beats a linker killed by a full disk.
need_kb=$((20 * 1048576))
echo "pruned $freed stale executables and key directories; $(($(free_kib "$target") / 1048576)) GiB free"
if [ "$(free_kib "$cache")" -lt "$need_kb" ] && [ -d "$cache/keys" ]; then
  echo "under 20 GiB free: removing every cached key ($cache/keys)" >&2
  rm -rf -- "${cache:?}/keys"
fi
if [ "$(free_kib "$target")" -lt "$need_kb" ] && [ -d "$target" ]; then
  echo "under 20 GiB free: removing the target directory $target (cold build follows)" >&2
  rm -rf -- "${target:?}"
fi
free=$(free_kib "$target")
if [ "$free" -lt "$need_kb" ]; then
  echo "warning: only $((free / 1048576)) GiB free after emptying zkroll's caches; the build may run out of disk" >&2
fi
