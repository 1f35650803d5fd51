#!/usr/bin/env bash
# tools/model-check.sh - check the Promela model of the SMM rendezvous
# (docs/model/rendezvous.pml) with spin: every policy, 2 and 3 CPUs, the
# platform variants, the regression checks for the fixed gaps, the
# mutations and reverted fixes that must fail, and the residual window of
# the INIT fix.
#
#   tools/model-check.sh [-j N] [-l] [NAME...]
#
#   -j N    run N checks at once (default: the number of CPUs)
#   -l      list the checks and exit
#   NAME    run only these checks (shell patterns, e.g. 'main-*')
#
# Each check is spin -a, cc, ./pan in build/model/NAME/ (pan's output is in
# pan.out there, and a counterexample in rendezvous.pml.trail: replay it with
# "spin -t -p <the same -D flags> rendezvous.pml" in that directory).
# A "pass" check needs "errors: 0" from a complete search (no depth or memory
# limit hit); a "fail" check needs pan to find the error it names. One line
# per check, then "N passed, N failed". docs/model/README.md explains them.
# Exit status: 0 all as expected, 1 otherwise or spin/cc missing, 2 usage.
set -euo pipefail
# shellcheck source=tools/lib/tally.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tally.sh"

cd "$(dirname "$0")/.."
MODEL=docs/model/rendezvous.pml
OUT=build/model

# name | expect | cc -O level (1 for the big N=3 runs: -O2 costs more to
# compile than it saves) | spin -D flags
# expect: pass, or fail:EXTENDED-REGEX that pan's first error line must match
CHECKS='
main-pullin-n2    |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2
main-patent-n2    |pass|0|-DPOLICY=1 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2
main-waitall-n2   |pass|0|-DPOLICY=2 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2
main-pullin-n3    |pass|1|-DPOLICY=0 -DNCPU=3 -DNCMD=2 -DNPARK=2 -DNSMI=1
main-patent-n3    |pass|1|-DPOLICY=1 -DNCPU=3 -DNCMD=2 -DNPARK=2 -DNSMI=1
main-waitall-n3   |pass|1|-DPOLICY=2 -DNCPU=3 -DNCMD=2 -DNPARK=2 -DNSMI=1
kvm-pullin-n2     |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DKVM_WFS
kvm-patent-n2     |pass|0|-DPOLICY=1 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DKVM_WFS
kvm-waitall-n2    |pass|0|-DPOLICY=2 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DKVM_WFS
async-pullin-n2   |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DASYNC_PM
async-patent-n2   |pass|0|-DPOLICY=1 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DASYNC_PM
async-waitall-n2  |pass|0|-DPOLICY=2 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DASYNC_PM
service-pullin-n2 |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DSERVICE
service-patent-n2 |pass|0|-DPOLICY=1 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DSERVICE
service-waitall-n2|pass|0|-DPOLICY=2 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DSERVICE
strict-pullin-n2  |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DSTRICT
strict-pullin-n3  |pass|1|-DPOLICY=0 -DNCPU=3 -DSTRICT
strict-patent-n2  |pass|0|-DPOLICY=1 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DSTRICT -DBCAST_ONLY
regress-trigger-window-patent  |pass|0|-DPOLICY=1 -DNCPU=2 -DSTRICT -DBCAST_ONLY
regress-service-coalesce-pullin|pass|0|-DPOLICY=0 -DNCPU=2 -DSERVICE -DASYNC_PM
regress-service-async-pullin   |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DSERVICE -DASYNC_PM
regress-service-async-patent   |pass|0|-DPOLICY=1 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DSERVICE -DASYNC_PM -DSTRICT -DBCAST_ONLY
regress-literal-c-pullin       |pass|0|-DPOLICY=0 -DNCPU=2 -DCHECK_C_LITERAL
regress-literal-c-strict-pullin|pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DCHECK_C_LITERAL -DSTRICT
regress-tcg-init-abort-pullin  |pass|0|-DPOLICY=0 -DNCPU=2 -DTCG_INIT_ABORT
regress-tcg-init-async-pullin  |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DTCG_INIT_ABORT -DASYNC_PM
regress-trigger-member-patent-n3 |pass|1|-DPOLICY=1 -DNCPU=3 -DSTRICT -DBCAST_ONLY
regress-withdraw-stale-seq-pullin|pass|0|-DPOLICY=0 -DNCPU=2 -DCALL_TIMEOUT
regress-withdraw-stale-seq-patent|pass|0|-DPOLICY=1 -DNCPU=2 -DCALL_TIMEOUT
residual-tcg-init-window-pullin|fail:assertion violated \(synch\[me\]!=2\)|0|-DPOLICY=0 -DNCPU=2 -DTCG_INIT_ABORT -DINIT_WINDOW
residual-tcg-init-wedge-pullin |fail:invalid end state|0|-DPOLICY=0 -DNCPU=2 -DTCG_INIT_ABORT -DINIT_WINDOW -DASYNC_PM -DNO_CHECK_E
halt-pullin-n2    |pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DHALT_WAIT
halt-patent-n2    |pass|0|-DPOLICY=1 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DHALT_WAIT
halt-pullin-n3    |pass|1|-DPOLICY=0 -DNCPU=3 -DNCMD=2 -DNPARK=2 -DNSMI=1 -DHALT_WAIT
halt-async-pullin-n2|pass|0|-DPOLICY=0 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DASYNC_PM -DHALT_WAIT
mut-halt-no-wake-pullin |fail:invalid end state|0|-DPOLICY=0 -DNCPU=2 -DHALT_WAIT -DBUG_NO_WAKE
mut-halt-no-drain-pullin|fail:assertion violated +!\(wake_pend|0|-DPOLICY=0 -DNCPU=2 -DHALT_WAIT -DBUG_NO_DRAIN
halt-waitall-n2   |pass|0|-DPOLICY=2 -DNCPU=2 -DNCMD=3 -DNPARK=3 -DNSMI=2 -DHALT_WAIT
mut-halt-no-monarch-wake-pullin |fail:assertion violated.*joined|0|-DPOLICY=0 -DNCPU=2 -DHALT_WAIT -DBUG_NO_MONARCH_WAKE
mut-halt-no-monarch-drain-pullin|fail:assertion violated +!\(wake_pend|0|-DPOLICY=0 -DNCPU=2 -DHALT_WAIT -DBUG_NO_MONARCH_DRAIN
revert-halt-one-publish-pullin-n3|fail:assertion violated.*joined|1|-DPOLICY=0 -DNCPU=3 -DNCMD=2 -DNPARK=2 -DNSMI=1 -DHALT_WAIT -DREVERT_ONE_PUBLISH
mut-leave-early-pullin |fail:assertion violated \(\(event!=ev\)|0|-DPOLICY=0 -DNCPU=2 -DBUG_LEAVE_EARLY
mut-leave-early-patent |fail:assertion violated \(\(event!=ev\)|0|-DPOLICY=1 -DNCPU=2 -DBUG_LEAVE_EARLY
mut-leave-early-waitall|fail:assertion violated \(\(event!=ev\)|0|-DPOLICY=2 -DNCPU=2 -DBUG_LEAVE_EARLY
mut-wait-inactive-pullin|fail:assertion violated \(\(waitset&inact\)==0\)|0|-DPOLICY=0 -DNCPU=2 -DBUG_WAIT_INACTIVE
mut-wait-inactive-patent|fail:assertion violated \(\(waitset&inact\)==0\)|0|-DPOLICY=1 -DNCPU=2 -DBUG_WAIT_INACTIVE
mut-wait-inactive-waits-patent|fail:assertion violated \(set==0\)|0|-DPOLICY=1 -DNCPU=2 -DBUG_WAIT_INACTIVE -DNO_CHECK_D -DSTRICT -DBCAST_ONLY
failsafe-fires-pullin  |fail:assertion violated \(\(event!=ev\)|0|-DPOLICY=0 -DNCPU=2 -DFAILSAFE
revert-submitter-pull-patent|fail:assertion violated \(set==0\)|0|-DPOLICY=1 -DNCPU=2 -DSTRICT -DBCAST_ONLY -DREVERT_SUBMITTER_PULL
revert-service-rdv-pullin   |fail:invalid end state|0|-DPOLICY=0 -DNCPU=2 -DSERVICE -DASYNC_PM -DREVERT_SERVICE_RDV
revert-exit-lock-literal-pullin|fail:assertion violated +!\(\(\(\(insmm_at_open|0|-DPOLICY=0 -DNCPU=2 -DCHECK_C_LITERAL -DREVERT_EXIT_UNDER_LOCK
revert-exit-lock-strict-pullin |fail:assertion violated \(set==0\)|0|-DPOLICY=0 -DNCPU=2 -DSTRICT -DREVERT_EXIT_UNDER_LOCK
revert-any-monarch-pull-patent-n3|fail:assertion violated \(set==0\)|0|-DPOLICY=1 -DNCPU=3 -DSTRICT -DBCAST_ONLY -DREVERT_ANY_MONARCH_PULL
revert-seq-reserved-pullin     |fail:assertion violated \(rdv_cmd_fields==rdv_cmd_seq\)|0|-DPOLICY=0 -DNCPU=2 -DCALL_TIMEOUT -DREVERT_SEQ_RESERVED
'

usage() {
	echo "usage: tools/model-check.sh [-j N] [-l] [NAME...]" >&2
	exit 2
}

jobs_max=$(nproc 2>/dev/null || echo 1)
list=0
while getopts "j:lh" opt; do
	case $opt in
	j) [[ $OPTARG =~ ^[1-9][0-9]*$ ]] || usage; jobs_max=$OPTARG ;;
	l) list=1 ;;
	h) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

names=() expects=() opts=() flags=()
while IFS='|' read -r name expect opt flag; do
	name=${name//[[:space:]]/}
	[[ -n $name ]] || continue
	if (($#)); then
		keep=0
		for pat in "$@"; do
			# shellcheck disable=SC2053
			[[ $name == $pat ]] && keep=1
		done
		((keep)) || continue
	fi
	names+=("$name") expects+=("$expect") opts+=("$opt") flags+=("$flag")
done <<<"$CHECKS"

if ((list)); then
	for i in "${!names[@]}"; do
		printf '%-33s %-5s %s\n' "${names[i]}" "${expects[i]%%:*}" "${flags[i]}"
	done
	exit 0
fi
((${#names[@]})) || { echo "model-check: no check matches: $*" >&2; exit 2; }

if ! command -v spin >/dev/null; then
	echo "model-check: spin is not installed; install it with: sudo apt-get install spin" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
if ! command -v cc >/dev/null; then
	echo "model-check: no C compiler (cc); install it with: sudo apt-get install gcc" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# run_one INDEX: one check in $OUT/NAME; writes NAME/result ("ok|FAIL" and a
# summary) and always returns 0.
run_one() {
	local i=$1 name=${names[$1]} expect=${expects[$1]} opt=${opts[$1]}
	local dir=$OUT/$name flagv t0 t1 verdict why states errors ptime first
	read -r -a flagv <<<"${flags[i]}"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$MODEL" "$dir/rendezvous.pml"
	t0=$(date +%s%N)
	(
		cd "$dir"
		spin -a "${flagv[@]}" rendezvous.pml >spin.out 2>&1 &&
			cc "-O$opt" -DSAFETY -DMEMLIM=4096 -w -o pan pan.c >cc.out 2>&1 &&
			./pan -m100000 >pan.out 2>&1
	) || true
	t1=$(date +%s%N)
	states=$(sed -n 's/^ *\([0-9][0-9e+.]*\) states, stored.*/\1/p' "$dir/pan.out" 2>/dev/null | head -1)
	errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$dir/pan.out" 2>/dev/null | head -1)
	ptime=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' "$dir/pan.out" 2>/dev/null | head -1)
	first=$(grep -m1 -E '^pan:[0-9]+: ' "$dir/pan.out" 2>/dev/null || true)
	verdict=FAIL why=''
	if [[ ! -s $dir/pan.c ]]; then
		why="spin -a failed: $(head -c 300 "$dir/spin.out" | tr '\n' ' ')"
	elif [[ ! -x $dir/pan ]]; then
		why="cc failed: $(head -c 300 "$dir/cc.out" | tr '\n' ' ')"
	elif [[ -z $errors ]]; then
		why="pan did not finish: $(tail -n 3 "$dir/pan.out" | tr '\n' ' ')"
	elif grep -qE 'max search depth too small|reached -DMEMLIM|out of memory' "$dir/pan.out"; then
		why="incomplete search: $(grep -m1 -E 'max search depth|MEMLIM|out of memory' "$dir/pan.out")"
	elif [[ $expect == pass && $errors != 0 ]]; then
		why="pan found: ${first#pan:1: } (replay: cd $dir && spin -t -p ${flags[i]} rendezvous.pml)"
	elif [[ $expect == pass ]]; then
		if grep -q 'Search not completed' "$dir/pan.out"; then
			why="incomplete search: Search not completed"
		else
			verdict=ok
		fi
	elif ((errors > 0)) && [[ $first =~ ${expect#fail:} ]]; then
		verdict=ok why="found as expected: ${first#pan:1: }"
		why=${why%% (at depth*}
	elif ((errors > 0)); then
		why="found another error: ${first#pan:1: }"
	else
		why="no error found, expected ${expect#fail:}"
	fi
	printf '%-4s %-33s %-7s N=%s  states=%-9s errors=%-2s pan=%5.1fs total=%5.1fs%s\n' \
		"$verdict" "$name" "$(policy_of "${flags[i]}")" "$(ncpu_of "${flags[i]}")" \
		"${states:-?}" "${errors:-?}" "${ptime:-0}" "$(((t1 - t0) / 1000000))e-3" \
		"${why:+  $why}" >"$dir/result"
	return 0
}

policy_of() {
	case $1 in
	*-DPOLICY=1*) echo patent ;;
	*-DPOLICY=2*) echo waitall ;;
	*) echo pullin ;;
	esac
}

ncpu_of() {
	[[ $1 =~ -DNCPU=([0-9]+) ]] && echo "${BASH_REMATCH[1]}" || echo 3
}

mkdir -p "$OUT"
echo "# model check: ${#names[@]} check(s) of $MODEL, $jobs_max at a time"
start=$(date +%s)
running=0
# The big runs (compiled with -O1 or more) first, so the small ones fill in
# around them; the results are printed in list order below.
order=()
for i in "${!names[@]}"; do [[ ${opts[i]} != 0 ]] && order+=("$i"); done
for i in "${!names[@]}"; do [[ ${opts[i]} == 0 ]] && order+=("$i"); done
for i in "${order[@]}"; do
	if ((running >= jobs_max)); then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$i" &
	running=$((running + 1))
done
wait || true

pairs=()
for i in "${!names[@]}"; do pairs+=("${names[i]}=$OUT/${names[i]}/result"); done
status=0
tally "${pairs[@]}" || status=1
echo "# model check took $(($(date +%s) - start)) s"
echo "$TALLY_LINE"
exit "$status"
