#!/usr/bin/env bash
# Boot-to-verdict wall time, split into firmware + GRUB (QEMU start to the
# kernel's first line) and kernel (first line to QEMU's exit): the median of
# N runs per configuration.
#   tools/boot-time.sh [-n N] [-t TESTS] [RUN-QEMU OPTIONS ...]
# e.g. tools/boot-time.sh -n 5 --smp 8
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=5 tests='*'
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    -t) tests=$2; shift 2 ;;
    *) break ;;
  esac
done
fw=() kern=()
for ((i = 0; i < n; i++)); do
  read -r a b < <(./run-qemu.sh --tests "$tests" "$@" 2>/dev/null | perl -MTime::HiRes=time -e '
      my $t0 = time; my $t1;
      while (<STDIN>) { $t1 //= time if /^smmsync: bare-metal/; }
      my $t2 = time; $t1 //= $t2;
      printf "%.3f %.3f\n", $t1 - $t0, $t2 - $t1;' || true)
  fw+=("$a") kern+=("$b")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "boot-time: $* tests=$tests runs=$n firmware+grub=$(median "${fw[@]}")s kernel=$(median "${kern[@]}")s"
