#!/usr/bin/env bash
# Builds the board program for thumbv7m-none-eabi and runs it under QEMU's
# lm3s6965evb (a Cortex-M3) with semihosting. Exit status: 0 every check
# passed, 1 a check (or the build) failed, 77 skipped (no QEMU or no target).
#
#   ./run.sh            the checks
#   ./run.sh --broken   a build that deliberately fails one check (must exit 1)
#   ./run.sh --size     also print flash (.vector_table + .text + .rodata +
#                       .data) and static RAM (.data + .bss) of the program
#   ./run.sh --compare  also build and run the same checks on embassy-executor
#                       (embassy/, a yardstick for BENCHMARKS.md) with its size
set -u
cd "$(dirname "$0")"
features=()
size=0
compare=0
for arg in "$@"; do
  case "$arg" in
    --broken) features=(--features broken) ;;
    --size) size=1 ;;
    --compare) size=1; compare=1 ;;
    *) echo "usage: $0 [--broken] [--size] [--compare]" >&2; exit 2 ;;
  esac
done
if ! command -v qemu-system-arm >/dev/null; then
  echo "board: skipped: qemu-system-arm is not installed (Debian package qemu-system-arm)"
  exit 77
fi
if ! rustup target list --installed 2>/dev/null | grep -qx thumbv7m-none-eabi; then
  echo "board: skipped: the thumbv7m-none-eabi target is not installed (rustup target add thumbv7m-none-eabi)"
  exit 77
fi
# Prints the flash and static RAM of an ELF, from its section headers
# (readelf reads any ELF).
elf_size() {
  local label=$1 file=$2
  declare -A n=([.vector_table]=0 [.text]=0 [.rodata]=0 [.data]=0 [.bss]=0)
  while read -r name hex; do n[$name]=$((16#$hex)); done < <(
    readelf -SW "$file" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\.(text|rodata|data|bss|vector_table)$/) print $i, $(i + 4) }')
  echo "$label size: flash $((n[.vector_table] + n[.text] + n[.rodata] + n[.data])) B" \
    "(.vector_table ${n[.vector_table]} + .text ${n[.text]} + .rodata ${n[.rodata]} + .data ${n[.data]})," \
    "static RAM $((n[.data] + n[.bss])) B (.data ${n[.data]} + .bss ${n[.bss]})"
}
cargo build --release --locked "${features[@]}" || exit 1
elf=target/thumbv7m-none-eabi/release/uasyncio-board
if [ "$size" = 1 ]; then
  elf_size board "$elf"
fi
qemu() {
  timeout 120 qemu-system-arm -cpu cortex-m3 -M lm3s6965evb -nographic \
    -semihosting-config enable=on,target=native \
    -icount shift=6,align=off,sleep=off -kernel "$1"
}
if [ "$compare" = 1 ]; then
  (cd embassy && cargo build --release --locked) || exit 1
  embassy_elf=embassy/target/thumbv7m-none-eabi/release/embassy-board
  elf_size embassy "$embassy_elf"
  qemu "$embassy_elf" || { echo "board: FAILED: the embassy yardstick failed"; exit 1; }
fi
# `-icount`: emulated time advances with the instructions run, and with
# `sleep=off` a `wfi` jumps to the next interrupt: deterministic and fast.
qemu "$elf"
status=$?
case "$status" in
  0) echo "board: passed" ;;
  124) echo "board: FAILED: QEMU timed out after 120 s"; exit 1 ;;
  *) echo "board: FAILED (QEMU exit status $status)"; exit 1 ;;
esac
