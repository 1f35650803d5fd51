#!/usr/bin/env bash
# tools/test.sh - make test: every check, in two lanes that share the host's
# cores.
#
#   the QEMU lane, in the foreground (its output as it comes): the host unit
#     tests but the rendezvous test, the shell tests, style, layers, the gdb
#     check, the benchmark smoke run, every configuration but the group big
#     (tests/run-configs.sh), the conformance table, the mutation catalogue
#     and its sample;
#   the host lane, in the background at the idle priority (its output in
#     build/test/host-lane.log, printed when it ends): the host rendezvous
#     test's million events, the model check and the fuzzers. They run no
#     QEMU, and take most of make test's host CPU time.
#
# A configuration keeps one host core busy on average (docs/PERFORMANCE.md
# section 8.3), so the host lane mostly runs on the other one. It runs in
# the scheduling class SCHED_IDLE (chrt --idle): a QEMU thread that wakes
# takes a core from it at once, so that the lane does not make a guest late
# (the guest computes its bounds from the host's cores). At nice 10 the
# configurations took 1.4 times as long, and make test as long as serially.
#
# Each lane stops at its first failure. The exit status is 0 only if both
# passed; the last lines name each lane's verdict, its time and the step
# that failed. Environment: TEST_ARGS (tests/run-configs.sh's options,
# default -j 1), FUZZ_SECONDS (default 10), TEST_LANES=serial to run the
# host lane first and then the QEMU lane, as make test did before.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

make_() { make --no-print-directory "$@"; }
LOG=${TEST_LANE_LOG:-build/test/host-lane.log}
# The host lane's scheduling class: SCHED_IDLE, the lowest there is.
LOW=(chrt --idle 0)

# Everything both lanes use is built first, so that they never build the
# same file at once.
build() { make_ -j"$(nproc)" all host-build; }

host_lane() {
	echo "== build/host/test_rendezvous" && build/host/test_rendezvous &&
		make_ model &&
		FUZZ_SECONDS=${FUZZ_SECONDS:-10} tools/fuzz.sh
}

qemu_lane() {
	# shellcheck disable=SC2086 # TEST_ARGS is a list of options
	make_ host-test HOST_SKIP=test_rendezvous &&
		tests/host/test_run_qemu.sh &&
		tests/host/test_serial_agent.sh &&
		tests/host/test_lanes.sh &&
		tests/host/test_conformance.sh &&
		tests/host/test_layers.sh &&
		tests/host/test_style.sh &&
		make_ style &&
		make_ layers &&
		make_ gdb-check &&
		make_ bench-smoke &&
		tests/run-configs.sh -x big ${TEST_ARGS:--j 1} &&
		tools/conformance.sh --check &&
		tools/mutants.sh --check &&
		tools/mutants.sh --sample
}

# tests/host/test_lanes.sh checks the verdicts, the waits, the priority and
# the clean-up with stand-in lanes: the shell commands TEST_HOST_LANE and
# TEST_QEMU_LANE, no build, the host lane's log in TEST_LANE_LOG.
if [[ -n ${TEST_HOST_LANE:-}${TEST_QEMU_LANE:-} ]]; then
	build() { :; }
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

verdict() {                     # verdict STATUS SECONDS: one summary word
	if (($1 == 0)); then echo "passed in $2 s"; else echo "FAILED (exit $1) after $2 s"; fi
}

build || exit 1
mkdir -p "$(dirname "$LOG")"
rm -f "$LOG.status"
t0=$SECONDS
if [[ ${TEST_LANES:-} == serial ]]; then
	host_lane 2>&1 | tee "$LOG"
	host_st=${PIPESTATUS[0]} host_s=$((SECONDS - t0))
	qemu_lane
	qemu_st=$? qemu_s=$((SECONDS - t0 - host_s))
else
	("${LOW[@]}" bash -c "$(declare -f make_ host_lane); host_lane" </dev/null >"$LOG" 2>&1
	 echo "$? $((SECONDS - t0))" >"$LOG.status") &
	host_pid=$!
	echo "# make test: the host lane (rendezvous test, model check, fuzzers) runs in the background, at the idle priority (SCHED_IDLE): $LOG"
	# The QEMU lane runs as a job too, so that a signal ends the wait for it
	# at once and takes both lanes down, every process of theirs with them.
	qemu_lane &
	qemu_pid=$!
	trap 'kill $host_pid $qemu_pid $(descendants $host_pid) $(descendants $qemu_pid) 2>/dev/null; exit 130' INT TERM
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
fi
echo "make test: host lane $(verdict "$host_st" "$host_s"); QEMU lane $(verdict "$qemu_st" "$qemu_s"); whole run $((SECONDS - t0)) s"
((host_st == 0 && qemu_st == 0))
