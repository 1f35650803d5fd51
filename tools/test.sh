#!/usr/bin/env bash
# tools/test.sh - make test: every check, in two lanes that share the host's
# cores.
#
#   the QEMU lane, in the foreground (its output as it comes): the host unit
#     tests but the rendezvous test, the shell tests, style, layers, the gdb
#     check, the benchmark smoke run, every configuration but the group big
#     (tests/run-configs.sh), the conformance table, the mutation catalogue
#     and its sample;
#   the host lane, in the background at a lower priority (its output in
#     build/test/host-lane.log, printed when it ends): the host rendezvous
#     test's million events, the model check and the fuzzers. They run no
#     QEMU, and take most of make test's host CPU time.
#
# A configuration keeps one host core busy on average (docs/PERFORMANCE.md
# section 8.3), so the host lane mostly runs on the other one. When a
# configuration needs both, nice 10 leaves a QEMU vCPU thread about nine
# tenths of the core it shares with the host lane: the guest computes its
# bounds from the host's cores, and the lane must not make it late.
#
# Each lane stops at its first failure. The exit status is 0 only if both
# passed; the last lines name each lane's verdict, its time and the step
# that failed. Environment: TEST_ARGS (tests/run-configs.sh's options,
# default -j 1), FUZZ_SECONDS (default 10), TEST_LANES=serial to run the
# host lane first and then the QEMU lane, as make test did before.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

make_() { make --no-print-directory "$@"; }
LOG=build/test/host-lane.log
NICE=10

# Build everything both lanes use first, so that they never build the same
# file at once.
make_ all host-build || exit 1
mkdir -p "$(dirname "$LOG")"
rm -f "$LOG.status"

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

verdict() {                     # verdict STATUS SECONDS: one summary word
	if (($1 == 0)); then echo "passed in $2 s"; else echo "FAILED (exit $1) after $2 s"; fi
}

t0=$SECONDS
if [[ ${TEST_LANES:-} == serial ]]; then
	host_lane 2>&1 | tee "$LOG"
	host_st=${PIPESTATUS[0]} host_s=$((SECONDS - t0))
	qemu_lane
	qemu_st=$? qemu_s=$((SECONDS - t0 - host_s))
else
	# A process group of its own (set -m), so that an interrupt or a
	# terminated make test stops every process of the lane.
	set -m
	(nice -n "$NICE" bash -c "$(declare -f make_ host_lane); host_lane" </dev/null >"$LOG" 2>&1
	 echo "$? $((SECONDS - t0))" >"$LOG.status") &
	host_pid=$!
	set +m
	trap 'kill -- -"$host_pid" 2>/dev/null; exit 130' INT TERM
	echo "# make test: the host lane (rendezvous test, model check, fuzzers) runs in the background, nice $NICE: $LOG"
	qemu_lane
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
