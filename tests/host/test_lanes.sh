#!/usr/bin/env bash
# tests/host/test_lanes.sh - tools/test.sh (make test's two lanes) with
# stand-in lanes. TEST_LANES=parallel: make test passes only when both lanes
# pass, a failure names its lane, the QEMU lane waits for a slower host lane
# and prints its log, the lanes run at once with the host lane at the idle
# priority, and an interrupted make test leaves no process of either lane
# behind. serial (the default): the host lane first, and its failure stops
# make test.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/host/check.sh
. "$HERE/tests/host/check.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CHECK_SHOW="$work/out"

lanes() {                       # lanes HOST-CMD QEMU-CMD: parallel; status in $st, output in $work/out
	TEST_LANES=${mode:-parallel} TEST_LANE_LOG="$work/host.log" TEST_HOST_LANE=$1 TEST_QEMU_LANE=$2 \
		"$HERE/tools/test.sh" >"$work/out" 2>&1
	st=$?
}
last() { tail -n 1 "$work/out"; }

lanes "echo from-host" "echo from-qemu"
check "both lanes pass: make test passes (status $st)" \
	bash -c '[ "$0" = 0 ] && [[ "$1" == *"host lane passed"*"QEMU lane passed"* ]]' "$st" "$(last)"
check "the host lane's output is printed when it ends" grep -qx "from-host" "$work/out"

lanes "exit 3" "true"
check "a failing host lane fails make test, by name (status $st)" \
	bash -c '[ "$0" != 0 ] && [[ "$1" == *"host lane FAILED (exit 3)"* ]]' "$st" "$(last)"

lanes "true" "exit 4"
check "a failing QEMU lane fails make test, by name (status $st)" \
	bash -c '[ "$0" != 0 ] && [[ "$1" == *"QEMU lane FAILED (exit 4)"* ]]' "$st" "$(last)"

lanes "sleep 2; echo host-late; exit 5" "true"
check "the QEMU lane waits for a slower host lane and takes its verdict (status $st)" \
	bash -c '[ "$0" != 0 ] && grep -qx host-late "$1" && [[ "$2" == *"host lane FAILED (exit 5)"* ]]' \
	"$st" "$work/out" "$(last)"

t0=$(date +%s%N)
lanes "sleep 2" "sleep 2"
ms=$((($(date +%s%N) - t0) / 1000000))
check "the lanes run at once: two 2 s lanes in $ms ms (under 3.5 s)" bash -c '[ "$0" = 0 ] && [ "$1" -lt 3500 ]' "$st" "$ms"

lanes 'chrt -p $$' "true"
check "the host lane runs at the idle priority (SCHED_IDLE)" grep -q "policy: SCHED_IDLE" "$work/out"

# The default: one lane after the other, and a failing host lane stops it.
mode=serial
lanes "sleep 1; echo host-first" "echo qemu-second"
check "serial: the host lane, then the QEMU lane (status $st)" \
	bash -c '[ "$0" = 0 ] && grep -A1 -x host-first "$1" | grep -qx qemu-second' "$st" "$work/out"
lanes "exit 6" "echo qemu-ran"
check "serial: a failing host lane fails make test and the QEMU lane does not run (status $st)" \
	bash -c '[ "$0" != 0 ] && ! grep -q qemu-ran "$1" && [[ "$2" == *"host lane FAILED (exit 6)"*"QEMU lane not run"* ]]' \
	"$st" "$work/out" "$(last)"
TEST_LANES=fast "$HERE/tools/test.sh" >"$work/out" 2>&1
st=$?
check "an unknown TEST_LANES is refused (status $st)" bash -c '[ "$0" = 2 ] && grep -q "serial or parallel" "$1"' "$st" "$work/out"
unset mode

# An interrupted make test: the host lane's processes go with it.
TEST_LANES=parallel TEST_LANE_LOG="$work/host.log" TEST_HOST_LANE="sleep 60 & echo \$! >$work/pid; wait" \
	TEST_QEMU_LANE="sleep 60 & echo \$! >$work/qpid; wait" \
	"$HERE/tools/test.sh" >"$work/out" 2>&1 &
main=$!
for _ in $(seq 50); do [[ -s $work/pid && -s $work/qpid ]] && break; sleep 0.1; done
kill -TERM "$main"
wait "$main" 2>/dev/null
sleeper=$(cat "$work/pid" 2>/dev/null) qsleeper=$(cat "$work/qpid" 2>/dev/null)
gone() { [[ -n $1 ]] && ! kill -0 "$1" 2>/dev/null; }
for _ in $(seq 20); do gone "$sleeper" && gone "$qsleeper" && break; sleep 0.1; done
check "an interrupted make test stops the host lane (its sleep, pid ${sleeper:-none}, is gone)" gone "$sleeper"
check "... and the QEMU lane (its sleep, pid ${qsleeper:-none}, is gone)" gone "$qsleeper"
for p in $sleeper $qsleeper; do kill "$p" 2>/dev/null; done

echo "1..$n"
echo "# lanes: $((n - failed)) passed, $failed failed"
((failed == 0))
