#!/usr/bin/env bash
# tools/host-tap.sh - the host unit tests (make host-test) as one TAP stream,
# with the same exit codes as run-qemu.sh (0 pass, 1 fail), so that
# tests/tap-one.sh can judge them like a QEMU configuration:
#
#   RUN_QEMU=tools/host-tap.sh tests/tap-one.sh build/t/NAME.t
#
# Result names are BINARY.TEST (test_layout.test_print), and
# run_qemu.* for tests/host/test_run_qemu.sh, serial_agent.* for
# tests/host/test_serial_agent.sh, lanes.* for tests/host/test_lanes.sh,
# conformance.* for
# tests/host/test_conformance.sh, style.* for
# tests/host/test_style.sh and style.tree for tools/style.sh, layers.* for
# tests/host/test_layers.sh and layers.tree for tools/layers.sh on the
# tree. Options are those
# of run-qemu.sh and are ignored (the host tests have no configuration).
# tools/mutants.sh uses it for mutants whose 'config' is 'host'.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The rendezvous test's million events are make test's; a mutant run needs
# only enough to meet every case (a violation stops it at once).
export RDV_EVENTS=${RDV_EVENTS:-100000}
out=$(CMOCKA_MESSAGE_OUTPUT=TAP make --no-print-directory host-test 2>&1)
st=$?
# The runner's own host test (run-qemu.sh's KVM probe), TAP already.
out+=$'\n== build/host/run_qemu\n'$(tests/host/test_run_qemu.sh 2>&1)
# run-qemu.sh's serial agent against a fake monitor.
out+=$'\n== build/host/serial_agent\n'$(tests/host/test_serial_agent.sh 2>&1)
# make test's two lanes (tools/test.sh) with stand-in lanes.
out+=$'\n== build/host/lanes\n'$(tests/host/test_lanes.sh 2>&1)
# The conformance table's generator on made-up logs.
out+=$'\n== build/host/conformance\n'$(tests/host/test_conformance.sh 2>&1)
# The layer checker on fake trees, and on this tree (one result, layers.tree,
# whose diagnostics are the violations; it reads build/k, so build first).
out+=$'\n== build/host/layers\n'$(tests/host/test_layers.sh 2>&1)
if lt=$(tools/layers.sh 2>&1); then r='ok 1 - tree'; else r='not ok 1 - tree'; fi
out+=$'\n== build/host/layers\n'"$r"$'\n'$(sed 's/^/# /' <<<"$lt")
# The style checker on its own test files, and on this tree (style.tree).
out+=$'\n== build/host/style\n'$(tests/host/test_style.sh 2>&1)
if lt=$(tools/style.sh 2>&1); then r='ok 1 - tree'; else r='not ok 1 - tree'; fi
out+=$'\n== build/host/style\n'"$r"$'\n'$(sed 's/^/# /' <<<"$lt")
printf '%s\n' "$out" | awk -v st="$st" '
	# cmocka prints a failing test'"'"'s message (fail_msg, assertions) before
	# its "not ok": held back and printed under the result it explains.
	function flush() { for (i = 0; i < np; i++) print pend[i]; np = 0 }
	BEGIN { print "TAP version 13"; n = 0; fail = 0; bin = "host"; np = 0 }
	/^== / { flush(); bin = $2; sub(/.*\//, "", bin); next }
	/^FAILED: / { b = $2; sub(/.*\//, "", b); n++; fail++; print "not ok " n " - " b ": exited non-zero (a failed test, a crash or a sanitizer report)"; flush(); next }
	/^(not )?ok [0-9]+ - / {
		ok = ($1 == "ok"); name = $0; sub(/^(not )?ok [0-9]+ - /, "", name)
		n++; if (!ok) fail++
		if (ok) flush()
		print (ok ? "ok " : "not ok ") n " - " bin "." name
		if (!ok) flush()
		next
	}
	/^[0-9]+\.\.[0-9]+/ { next }
	/^#/ { pend[np++] = $0; next }
	NF { pend[np++] = "# " $0 }
	END {
		flush()
		if (st != 0 && fail == 0) { n++; fail++; print "not ok " n " - host-test: make failed (status " st ")" }
		print "1.." n
		print "# Totals: pass:" (n - fail) " fail:" fail " xfail:0 xpass:0 skip:0 timeout:0"
		exit fail ? 1 : 0
	}'
