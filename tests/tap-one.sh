#!/usr/bin/env bash
# tests/tap-one.sh build/t/NAME.t - run configuration NAME of tests/configs.cfg
# through ./run-qemu.sh and print TAP for prove on stdout (also saved to
# build/tap/NAME.tap; the exit status goes to build/tap/NAME.rc).
#
#   expect = pass        the guest's TAP, plus failing points for a bad verdict,
#                        a time-out, a missing plan or '# Totals:' line
#   expect = fail        the guest's TAP as '# ' lines, then our own points:
#                        verdict is fail; for each 'fail = GLOB | ERE' line a
#                        'not ok' result (without TODO/SKIP) whose name matches
#                        GLOB and whose text (the result line and the '#'
#                        diagnostics under it) matches the extended regular
#                        expression ERE; no other failure (unless
#                        'others = allow'); the run reached its summary
#   expect = crash       the same, but the verdict must be crash (a kernel
#                        panic, status 3): for the self-tests of the panic paths
#
# Serial log: build/logs/NAME.log; run-qemu.sh's stderr: build/logs/NAME.stderr.
# Environment: RUN_QEMU (stub instead of ./run-qemu.sh), ACCEL (default auto),
# CONFIGS (default tests/configs.cfg); see tests/run-configs.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=tests/run-configs.sh
source "$HERE/run-configs.sh"
cd "$ROOT"

if (($# != 1)); then
	echo "usage: tests/tap-one.sh build/t/NAME.t" >&2
	exit 2
fi
name=$(basename "$1" .t)
run_qemu=${RUN_QEMU:-./run-qemu.sh}
mkdir -p build/tap build/logs
tapfile=build/tap/$name.tap
rcfile=build/tap/$name.rc
logfile=build/logs/$name.log
errfile=build/logs/$name.stderr
rm -f "$rcfile"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-tap.XXXXXX")
child=''

# shellcheck disable=SC2317 # called from traps
on_exit() {
	[[ -z $child ]] || kill -TERM "$child" 2>/dev/null || true
	rm -rf "$tmp"
}
# shellcheck disable=SC2317
on_signal() {
	trap - INT TERM HUP
	if [[ -n $child ]]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
		child=''
	fi
	exit "$1"
}
trap on_exit EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

exec 3>"$tapfile"
emit() { printf '%s\n' "$@" >&3; }
finish() {
	exec 3>&-
	cat "$tapfile"
	echo "$1" >"$rcfile"
	exit "$1"
}
# A configuration error: one failing point.
fail_setup() {
	emit "TAP version 13" "1..1" "not ok 1 - $name: $*"
	finish 1
}

meaning() {
	case $1 in
	0) echo pass ;;
	1) echo fail ;;
	77) echo skip ;;
	3) echo crash ;;
	4) echo no-verdict ;;
	124) echo timeout ;;
	2) echo usage-error ;;
	129 | 130 | 143) echo interrupted ;;
	*) echo "status-$1" ;;
	esac
}

# ------------------------------------------------------------ configuration
configs=${CONFIGS:-tests/configs.cfg}
cfg_parse "$configs" 2>"$tmp/cfg.err" || fail_setup "$(head -n1 "$tmp/cfg.err")"
cfg_has "$name" || fail_setup "no configuration [$name] in $configs"

expect=$(cfg_get "$name" expect pass)
others=$(cfg_get "$name" others forbid)
globs=() reasons=()
want_st=1
[[ $expect == crash ]] && want_st=3
if [[ $expect == fail || $expect == crash ]]; then
	while IFS= read -r entry; do
		[[ -n $entry ]] || continue
		[[ $entry == *" | "* ]] || fail_setup "bad 'fail = $entry' (GLOB | ERE: a result name and a reason)"
		g=${entry%% | *} r=${entry#* | }
		[[ -n $g && -n $r ]] || fail_setup "bad 'fail = $entry' (GLOB | ERE: both are needed)"
		globs+=("$g")
		reasons+=("$r")
	done <<<"$(cfg_get "$name" fail)"
	((${#globs[@]})) || fail_setup "expect = $expect needs at least one 'fail = GLOB | ERE' line"
	[[ $others == forbid || $others == allow ]] || fail_setup "bad 'others = $others' (forbid or allow)"
elif [[ $expect != pass ]]; then
	fail_setup "bad 'expect = $expect' (pass, fail or crash; the last two with 'fail = GLOB | ERE' lines)"
fi

# requires = kvm-smm: a configuration for KVM hosts; where KVM cannot run
# SMM it is skipped, with the probe's reason (run-qemu.sh --accel kvm).
requires=$(cfg_get "$name" requires)
case $requires in
'') ;;
kvm-smm)
	if ! why=$("$run_qemu" --dry-run --accel kvm 2>&1 >/dev/null); then
		why=$(printf '%s' "$why" | tail -n1)
		emit "TAP version 13" "1..0 # SKIP needs KVM with SMM: ${why#*: }"
		finish 0
	fi
	;;
*) fail_setup "bad 'requires = $requires' (kvm-smm)" ;;
esac

args=(--log "$logfile" --accel "$(cfg_get "$name" accel "${ACCEL:-auto}")")
for key in machine smp sockets cores threads maxcpus mem tests cmdline timeout vga smm firmware; do
	val=$(cfg_get "$name" "$key")
	[[ -z $val ]] || args+=("--$key" "$val")
done
qemu_params=$(cfg_get "$name" qemu_params)
if [[ -n $qemu_params ]]; then
	read -ra qp <<<"$qemu_params"
	args+=(-- "${qp[@]}")
fi
limit=$(cfg_get "$name" timeout 120)

# ------------------------------------------------------------ run
rm -f "$logfile"
start=$(date +%s%N)
st=0
"$run_qemu" "${args[@]}" </dev/null >"$tmp/stdout" 2>"$errfile" &
child=$!
wait "$child" || st=$?
child=''
end=$(date +%s%N)
ms=$(((end - start) / 1000000))
wall=$((ms / 1000)).$(((ms % 1000) / 100))
verdict=$(meaning "$st")

# Serial output: the log, or what the runner printed if it wrote no log.
if [[ ! -s $logfile && -s $tmp/stdout ]]; then
	cp "$tmp/stdout" "$logfile"
fi
[[ -f $logfile ]] || : >"$logfile"
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g' "$logfile" >"$tmp/clean"

# Guest TAP: from the first "TAP version" to the end, TAP lines only.
awk '
	!started {
		if (match($0, /TAP version [0-9]+/)) { started = 1; print substr($0, RSTART) }
		next
	}
	/^(not )?ok([ \t]|$)/ || /^[0-9]+\.\.[0-9]+/ || /^#/ || /^TAP version / || /^Bail out!/ { print }
' "$tmp/clean" >"$tmp/tap"

# The HANG report (run-qemu.sh writes it to the log after a time-out).
awk '/^(run-qemu: )?HANG: /{ on = 1 } on && NF && !/^run-qemu: verdict:/' "$tmp/clean" >"$tmp/hang"
if [[ $(head -n1 "$tmp/hang") =~ exceeded\ ([0-9]+)\ s ]]; then
	limit=${BASH_REMATCH[1]}
fi

guest=() points=0 failures=0 plan='' plan_dir='' totals=0 seen_version=0
fail_names=() fail_text=() in_fail=0
while IFS= read -r line; do
	if [[ $line =~ ^TAP\ version ]]; then
		if ((seen_version)); then guest+=("# (repeated) $line"); else seen_version=1; fi
	elif [[ $line =~ ^1\.\.([0-9]+)(.*)$ ]]; then
		plan=${BASH_REMATCH[1]} plan_dir=${BASH_REMATCH[2]}
		guest+=("# guest plan: $line")
	elif [[ $line == "Bail out!"* ]]; then
		guest+=("# guest: $line")
	elif [[ $line =~ ^(not\ )?ok([[:space:]]+[0-9]+)?[[:space:]]*(-[[:space:]]*)?(.*)$ ]]; then
		points=$((points + 1))
		rest=${BASH_REMATCH[4]}
		tname=${rest%%[[:space:]]#*}
		directive=''
		[[ $rest == *[[:space:]]#* ]] && directive=${rest#*[[:space:]]#}
		directive=${directive#"${directive%%[![:space:]]*}"}
		directive=${directive^^}
		in_fail=0
		if [[ -n ${BASH_REMATCH[1]} && $directive != TODO* && $directive != SKIP* ]]; then
			failures=$((failures + 1))
			fail_names+=("$tname")
			fail_text+=("$rest")
			in_fail=1
		fi
		guest+=("$line")
	else
		[[ $line == "# Totals:"* ]] && totals=1 in_fail=0
		# The diagnostics under a failure are part of its reason.
		((in_fail)) && [[ $line == "#"* ]] && fail_text[-1]+=$'\n'$line
		guest+=("$line")
	fi
done <"$tmp/tap"

# Lines of run-qemu.sh's stderr before the HANG report.
stderr_lines=()
if [[ -f $errfile ]]; then
	while IFS= read -r line; do
		[[ $line =~ ^(run-qemu:\ )?HANG: ]] && break
		stderr_lines+=("$line")
	done < <(sed -e 's/\r//g' "$errfile")
fi

emit "TAP version 13"
for line in "${stderr_lines[@]}"; do
	[[ $line == "run-qemu: accelerator:"* ]] && emit "# $line"
done

extras=()
add_extra() { extras+=("$1"); }

if ((${#globs[@]} == 0)); then
	# ---------------------------------------------------- expect = pass
	if ((${#guest[@]})); then emit "${guest[@]}"; fi
	case $st in
	0 | 77) ;;
	1) ((failures)) || add_extra "not ok - $name: run verdict is fail (status 1) but no guest test failed" ;;
	124) add_extra "not ok - $name: run exceeded its time limit # TIMEOUT $limit seconds" ;;
	3) add_extra "not ok - $name: guest crashed or panicked (verdict 63, status 3)" ;;
	4) add_extra "not ok - $name: QEMU ended without a verdict (status 4: triple fault, QEMU error or killed)" ;;
	2) add_extra "not ok - $name: run-qemu rejected the configuration (status 2)" ;;
	*) add_extra "not ok - $name: run-qemu exited with status $st ($verdict)" ;;
	esac
	if [[ -z $plan ]] || ((!totals)); then
		add_extra "not ok - $name: serial log ended without plan/summary"
	elif ((plan != points)); then
		add_extra "not ok - $name: guest planned $plan tests but reported $points"
	fi
	if ((${#extras[@]} || failures)); then
		for line in "${stderr_lines[@]}"; do
			[[ $line == "run-qemu: accelerator:"* ]] || emit "# $line"
		done
	fi
	if [[ $st == 124 ]]; then
		while IFS= read -r line; do emit "# $line"; done <"$tmp/hang"
	fi
	k=$points
	for line in "${extras[@]}"; do
		k=$((k + 1))
		emit "not ok $k ${line#not ok }"
	done
	emit "# config $name: verdict=$verdict wall=${wall}s"
	if ((k == 0)) && [[ -n $plan ]]; then
		emit "1..0${plan_dir:- # SKIP guest ran no tests}"
	else
		emit "1..$k"
	fi
	if ((${#extras[@]} || failures)); then finish 1; fi
	finish 0
fi

# -------------------------------------------------------- expect = fail:GLOBS
emit "1..$((${#globs[@]} + 3))"
for line in "${guest[@]}"; do
	if [[ $line == "#"* ]]; then emit "$line"; else emit "# $line"; fi
done
for line in "${stderr_lines[@]}"; do
	[[ $line == "run-qemu: accelerator:"* ]] || emit "# $line"
done
if [[ $st == 124 ]]; then
	while IFS= read -r line; do emit "# $line"; done <"$tmp/hang"
fi
bad=0
k=1
if [[ $st == "$want_st" ]]; then
	emit "ok $k - $name: run verdict is $expect (status $st)"
else
	emit "not ok $k - $name: run verdict is $expect (got $verdict, status $st)"
	bad=1
fi
# explained[i]: failure i matched some 'fail' line (name and reason).
explained=()
for i in "${!fail_names[@]}"; do explained[i]=0; done
for j in "${!globs[@]}"; do
	g=${globs[j]} re=${reasons[j]}
	k=$((k + 1))
	named=() matched=()
	for i in "${!fail_names[@]}"; do
		# shellcheck disable=SC2053 # $g is a glob on purpose
		[[ ${fail_names[i]} == $g ]] || continue
		named+=("$i")
		if [[ ${fail_text[i]} =~ $re ]]; then
			matched+=("${fail_names[i]}")
			explained[i]=1
		fi
	done
	if ((${#matched[@]})); then
		emit "ok $k - $name: $g reported not ok, reason /$re/ ($(IFS=' '; echo "${matched[*]}"))"
	elif ((${#named[@]})); then
		emit "not ok $k - $name: $g reported not ok, reason /$re/ (it failed for another reason)"
		for i in "${named[@]}"; do
			while IFS= read -r line; do emit "#   $line"; done <<<"${fail_text[i]}"
		done
		bad=1
	else
		emit "not ok $k - $name: $g reported not ok, reason /$re/ (no matching 'not ok' result)"
		bad=1
	fi
done
unexplained=()
for i in "${!fail_names[@]}"; do
	((explained[i])) || unexplained+=("${fail_names[i]}")
done
k=$((k + 1))
if ((${#unexplained[@]} == 0)); then
	emit "ok $k - $name: no other failure"
elif [[ $others == allow ]]; then
	emit "ok $k - $name: other failures allowed (${#unexplained[@]}: $(IFS=';'; echo "${unexplained[*]}"))"
else
	emit "not ok $k - $name: no other failure (${#unexplained[@]} unexpected: $(IFS=';'; echo "${unexplained[*]}"))"
	bad=1
fi
k=$((k + 1))
if [[ -n $plan ]] && ((totals)); then
	emit "ok $k - $name: run reached its summary"
else
	emit "not ok $k - $name: run reached its summary (no plan/# Totals: line in the serial log)"
	bad=1
fi
emit "# config $name: verdict=$verdict wall=${wall}s"
finish "$bad"
