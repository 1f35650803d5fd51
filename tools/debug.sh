#!/usr/bin/env bash
# tools/debug.sh [RUN-QEMU-OPTIONS...] - what 'make debug' runs.
#
# Starts ./run-qemu.sh --gdb RUN-QEMU-OPTIONS in the background (QEMU halted
# at the reset vector with a gdb stub on build/gdb.sock, or on tcp with
# --gdb-port N), waits for the stub (at most 15 s), runs
#   gdb -x tools/gdbinit -ex 'target remote build/gdb.sock'
# and stops QEMU when gdb exits. Examples:
#   make debug
#   make debug RUN_ARGS='--tests smm.reloc --smp 2'
#   tools/debug.sh --tests 'smm.*' --accel tcg
# The guest's serial output (and run-qemu.sh's messages) go to
# build/debug-serial.log; follow it with: tail -f build/debug-serial.log
# DEBUG_SERIAL=tty also copies it to this terminal (mixed with gdb's output).
# Extra gdb arguments (after the connection): GDB_ARGS='-ex "hbreak smm_entry"'
# See docs/DEBUGGING.md.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
case ${1-} in -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;; esac

LOG=build/debug-serial.log
SOCK=build/gdb.sock
command -v gdb >/dev/null || { echo "debug: gdb not found (tools/deps.sh)" >&2; exit 2; }
[[ -f build/kernel.elf && -f build/smm.elf && -f build/smmsync.iso ]] ||
	{ echo "debug: build/ is incomplete (run make)" >&2; exit 2; }

# Where gdb connects: the unix socket, or the TCP port given with --gdb-port.
target=$SOCK port=''
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[i]} in
	--) break ;;
	--gdb-port) port=${args[i + 1]-} ;;
	--gdb-port=*) port=${args[i]#*=} ;;
	esac
done
[[ -n $port ]] && target=localhost:$port

mkdir -p build
qpid=''
cleanup() {
	local i
	if [[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null; then
		# run-qemu.sh has its own session (setsid): its process group is QEMU too.
		kill -TERM -- "-$qpid" 2>/dev/null || kill -TERM "$qpid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$qpid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$qpid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 143' TERM HUP

: >"$LOG"
# A stale socket from an earlier run would look ready (run-qemu.sh removes
# it too, but only once it gets there).
[[ -n $port ]] || rm -f "$SOCK"
# setsid: Ctrl-C in gdb (which interrupts the guest) must not reach QEMU.
if [[ ${DEBUG_SERIAL-} == tty ]]; then
	setsid ./run-qemu.sh --gdb --log "$LOG" "$@" </dev/null &
else
	setsid ./run-qemu.sh --gdb "$@" </dev/null >>"$LOG" 2>&1 &
fi
qpid=$!

# Wait (bounded) for the stub: the socket, or a listening TCP port.
ready=0
for ((i = 0; i < 150; i++)); do
	if [[ -z $port ]]; then
		[[ -S $SOCK ]] && { ready=1; break; }
	elif [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]; then
		ready=1
		break
	fi
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.1
done
if ((!ready)); then
	echo "debug: QEMU's gdb stub did not appear within 15 s; $LOG:" >&2
	tail -n 20 "$LOG" >&2
	exit 1
fi

echo "debug: QEMU is halted at the reset vector; serial output: $LOG"
echo "debug: quitting gdb stops QEMU"
# shellcheck disable=SC2086 # GDB_ARGS is split on purpose
eval "gdb -q -x tools/gdbinit -ex 'target remote $target' ${GDB_ARGS-}"
