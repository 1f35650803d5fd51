#!/usr/bin/env bash
# tools/test.sh - make test: every check, in three parts.
#
#   the quick checks: the host unit tests but the rendezvous test, the
#     shell tests, style and layers (a minute at most, so first);
#   the host lane: the host rendezvous test's million events, the model
#     check and the fuzzers. They boot no QEMU and take about half of
#     make test's host CPU time;
#   the QEMU lane: the gdb check, the benchmark smoke run, every
#     configuration but the group big (tests/run-configs.sh), the
#     conformance table, the mutation catalogue and its sample.
#
# TEST_LANES=serial (the default) runs the host lane, then the QEMU lane,
# and stops at the first failure. TEST_LANES=parallel runs the two lanes
# at once, the host lane in the background in the scheduling class
# SCHED_IDLE (chrt --idle), so that a QEMU thread that wakes takes a core
# from it at once (the guest computes its bounds from the host's cores); its
# output goes to build/test/host-lane.log and is printed when it ends. Each
# lane then stops at its own first failure. On the 2-core development
# machine parallel saves little (docs/PERFORMANCE.md section 8.3: both lanes
# are bound by the same two cores); it is meant for hosts with more.
#
# The exit status is 0 only if every part passed; the last line gives each
# lane's verdict and time. Environment: TEST_ARGS (tests/run-configs.sh's
# options, default -j 1), FUZZ_SECONDS (default 10).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

make_() { make --no-print-directory "$@"; }
LOG=${TEST_LANE_LOG:-build/test/host-lane.log}
MODE=${TEST_LANES:-serial}
LOW=(chrt --idle 0)             # the host lane's class when parallel

# Everything both lanes use is built first, so that they never build the
# same file at once.
build() { make_ -j"$(nproc)" all host-build; }

quick() {
	make_ host-test HOST_SKIP=test_rendezvous &&
		tests/host/test_run_qemu.sh &&
		tests/host/test_serial_agent.sh &&
		tests/host/test_lanes.sh &&
		tests/host/test_conformance.sh &&
		tests/host/test_layers.sh &&
		tests/host/test_style.sh &&
		make_ style &&
		make_ layers
}

host_lane() {
	echo "== build/host/test_rendezvous" && build/host/test_rendezvous &&
		make_ model &&
		FUZZ_SECONDS=${FUZZ_SECONDS:-10} tools/fuzz.sh
}

qemu_lane() {
	# shellcheck disable=SC2086 # TEST_ARGS is a list of options
	make_ gdb-check &&
		make_ bench-smoke &&
		tests/run-configs.sh -x big ${TEST_ARGS:--j 1} &&
		tools/conformance.sh --check &&
		tools/mutants.sh --check &&
		tools/mutants.sh --sample
}

# tests/host/test_lanes.sh checks the modes, the verdicts, the waits, the
# priority and the clean-up with stand-ins: the shell commands
# TEST_HOST_LANE and TEST_QEMU_LANE, no build and no quick checks, the host
# lane's log in TEST_LANE_LOG.
if [[ -n ${TEST_HOST_LANE:-}${TEST_QEMU_LANE:-} ]]; then
	build() { :; }
	quick() { :; }
	host_lane() { bash -c "${TEST_HOST_LANE:-true}"; }
	qemu_lane() { bash -c "${TEST_QEMU_LANE:-true}"; }
fi

descendants() {                 # descendants PID: its children, theirs, ...
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

verdict() {                     # verdict STATUS SECONDS: one summary phrase
	if (($1 == 0)); then echo "passed in $2 s"; elif (($1 < 0)); then echo "not run"; else
		echo "FAILED (exit $1) after $2 s"; fi
}

# The two lanes at once; sets host_st, host_s, qemu_st, qemu_s.
parallel() {
	("${LOW[@]}" bash -c "$(declare -f make_ host_lane); host_lane" </dev/null >"$LOG" 2>&1
	 echo "$? $((SECONDS - t0))" >"$LOG.status") &
	local host_pid=$!
	echo "# make test: the host lane (rendezvous test, model check, fuzzers) runs in the background at the idle priority (SCHED_IDLE): $LOG"
	# The QEMU lane runs as a job too, so that a signal ends the wait for it
	# at once (bash runs a trap only after a foreground command) and takes
	# both lanes down, every process of theirs with them.
	qemu_lane &
	local qemu_pid=$!
	# shellcheck disable=SC2064 # the pids are known now
	trap "kill $host_pid $qemu_pid \$(descendants $host_pid) \$(descendants $qemu_pid) 2>/dev/null; exit 130" INT TERM
	wait "$qemu_pid"
	qemu_st=$? qemu_s=$((SECONDS - t0))
	if kill -0 "$host_pid" 2>/dev/null; then
		echo "# make test: the QEMU lane has ended; waiting for the host lane (its log so far: $(wc -l <"$LOG") lines)"
	fi
	wait "$host_pid"
	trap - INT TERM
	read -r host_st host_s <"$LOG.status" 2>/dev/null || { host_st=1 host_s=$((SECONDS - t0)); }
	echo "== the host lane: $LOG"
	cat "$LOG"
}

# One lane after the other, stopping at the first failure.
serial() {
	host_lane 2>&1 | tee "$LOG"
	host_st=${PIPESTATUS[0]} host_s=$((SECONDS - t0))
	qemu_st=-1 qemu_s=0
	if ((host_st == 0)); then
		qemu_lane
		qemu_st=$? qemu_s=$((SECONDS - t0 - host_s))
	fi
}

case $MODE in
serial | parallel) ;;
*) echo "tools/test.sh: TEST_LANES must be serial or parallel, not '$MODE'" >&2; exit 2 ;;
esac
build || exit 1
quick || { echo "make test: FAILED in the quick checks (unit tests, shell tests, style, layers)"; exit 1; }
mkdir -p "$(dirname "$LOG")"
rm -f "$LOG.status"
t0=$SECONDS
"$MODE"
echo "make test ($MODE): host lane $(verdict "$host_st" "$host_s"); QEMU lane $(verdict "$qemu_st" "$qemu_s"); both lanes $((SECONDS - t0)) s"
((host_st == 0 && qemu_st == 0))
