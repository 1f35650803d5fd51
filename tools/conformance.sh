#!/usr/bin/env bash
# tools/conformance.sh - the SDM chapter 34 conformance table
# (docs/CONFORMANCE.md) from the guests' serial logs.
#
#   tools/conformance.sh [LOG...]        write docs/CONFORMANCE.md
#   tools/conformance.sh --check [LOG...] regenerate into a temporary file and
#                                        compare its table with the committed one
#
# Rows: the rules of tests/conformance.cfg. Columns: one per log (default
# build/logs/q35-4.log and build/logs/pc-4.log, which make test writes; with
# LOGS=dir, `make conformance` adds every dir/*.log, e.g. logs from a KVM
# host or from another QEMU). A column is named by the log's machine and
# accelerator ("# machine:" line); its QEMU version and firmware ("# platform:"
# line) are listed under the table. A cell is:
#   pass                   every result of the rule's tests passed
#   deviation `ID`         a known deviation (tests/deviations.cfg) was observed
#   not supported          the tests said the feature is absent (SKIP "not supported")
#   pass; not supported: N  the rest passed, N parts are absent
#   skipped                skipped for another reason (given)
#   FAIL                   a result failed
#   not run                no result of these tests in the log
#   no test yet            the rule has no test (tests = -)
# --check compares only the table (the lines starting with '|'), and only
# when the logs come from the QEMU version the committed table names: the
# cells are what QEMU does, which another version may change.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=tests/run-configs.sh
source "$ROOT/tests/run-configs.sh"
cd "$ROOT"

# CONFORMANCE_OUT, CONFORMANCE_CFG: another table and rule list (its test).
out=${CONFORMANCE_OUT:-docs/CONFORMANCE.md}
rules_cfg=${CONFORMANCE_CFG:-tests/conformance.cfg}
check=0
if [[ ${1:-} == --check ]]; then check=1; shift; fi
logs=("$@")
((${#logs[@]})) || logs=(build/logs/q35-4.log build/logs/pc-4.log)
for l in "${logs[@]}"; do
	[[ -r $l ]] || { echo "conformance: no log $l (run make test, or give logs)" >&2; exit 1; }
done

CFG_KEYS=" sdm rule tests " CFG_MULTI=" " cfg_parse "$rules_cfg" || exit 1
rules=$(mktemp)
trap 'rm -f "$rules" "${tmp:-}"' EXIT
for r in "${CFG_NAMES[@]}"; do
	for k in sdm rule tests; do
		[[ -n ${CFG[$r:$k]:-} ]] || { echo "conformance: [$r] has no '$k'" >&2; exit 1; }
	done
	printf '%s\t%s\t%s\t%s\n' "$r" "${CFG[$r:sdm]}" "${CFG[$r:rule]}" "${CFG[$r:tests]}" >>"$rules"
done

render() {  # rules-file log... -> markdown on stdout
	perl -e '
	use strict; use warnings;
	my ($rules, @logs) = @ARGV;
	my (@cols, %res);
	for my $log (@logs) {
		open(my $f, "<", $log) or die "$log: $!";
		my ($machine, $accel, $qemu, $fw, $cpus) = ("?", "?", "?", "?", "?");
		my @r;
		while (<$f>) {
			s/\r?\n$//;
			$machine = $1, $accel = $2 if /^# machine: (\S+) .*accelerator: (\w+)/;
			$cpus = $1 if /^# cpus: .* (\d+) online/;
			($qemu, $fw) = ($1, $2) if /^# platform: QEMU (.*), firmware (\S+)/;
			push @r, [$1 ? 0 : 1, $2, $3 // ""] if /^(not )?ok \d+ - ([^:]+):.*?(?:# (.*))?$/;
		}
		(my $name = $log) =~ s{.*/}{}; $name =~ s/\.log$//;
		push @cols, { log => $name, head => "$machine / " . uc($accel) . ", QEMU $qemu, $fw", qemu => $qemu, fw => $fw,
		              cpus => $cpus, r => \@r };
	}
	sub cell {
		my ($c, $tests) = @_;
		return "no test yet" if $tests eq "-";
		my @t = split " ", $tests;
		my (@dev, @ns, @sk);
		my ($pass, $fail, $n) = (0, 0, 0);
		for my $x (@{$c->{r}}) {
			my ($ok, $name, $dir) = @$x;
			next unless grep { $name eq $_ || index($name, "$_.") == 0 } @t;
			$n++;
			if ($dir =~ /^TODO known-deviation (\S+)/) { push @dev, $1 unless grep { $_ eq $1 } @dev; next }
			if ($dir =~ /^SKIP\s*(.*)/) { my $why = $1; if ($why =~ /^not supported/i) { push @ns, $why } else { push @sk, $why } next }
			if ($ok) { $pass++ } else { $fail++ }
		}
		return "not run" unless $n;
		return "**FAIL**" if $fail;
		return join(", ", map { "deviation `$_`" } @dev) if @dev;
		return "not supported" if @ns && !$pass;
		return "pass; not supported: " . scalar(@ns) if @ns;
		return "skipped ($sk[0])" if @sk && !$pass;
		return "pass";
	}
	print "| rule | SDM vol. 3C | what is checked | tests |", join("", map { " $_->{head} |" } @cols), "\n";
	print "|---|---|---|---|", "---|" x @cols, "\n";
	open(my $rf, "<", $rules) or die;
	while (<$rf>) {
		chomp; my ($id, $sdm, $rule, $tests) = split /\t/;
		my $t = $tests eq "-" ? "-" : join(" ", map { "`$_`" } split " ", $tests);
		print "| $id | $sdm | $rule | $t |", join("", map { " " . cell($_, $tests) . " |" } @cols), "\n";
	}
	print "\nColumns, from the serial logs of these runs:\n\n";
	print "* **$_->{head}** (`$_->{log}`): QEMU $_->{qemu}, firmware $_->{fw}, $_->{cpus} CPUs\n" for @cols;
	' "$@"
}

write_doc() {  # log... -> markdown document on stdout
	cat <<'EOF'
# SDM chapter 34 conformance

Which rules of Intel's SDM vol. 3C chapter 34 ("System Management Mode")
each platform follows, as smmsync's tests observed them. Generated by
`make conformance` (`tools/conformance.sh`) from the serial logs of the
runs named under the table; do not edit by hand. `make test` regenerates it
from its own logs and fails when the committed table differs (with the same
QEMU version). The rules and their tests are listed in
`tests/conformance.cfg`; the known deviations, with their evidence, in
`tests/deviations.cfg` and `docs/PLATFORM.md`.

A cell says **pass** (every result of the rule's tests passed),
**deviation `ID`** (the platform departs from the SDM in the listed, known
way: the test reports it with its evidence), **not supported** (the feature
is absent, with the evidence in the log), **pass; not supported: N** (what
exists passed, N optional parts are absent), **FAIL**, **not run** or **no
test yet**. Logs from other hosts (KVM, hardware, another QEMU) add columns:
`make conformance LOGS=dir`.

EOF
	render "$rules" "$@"
	echo
	echo "Known deviations named above (\`tests/deviations.cfg\`):"
	echo
	local d
	for d in $(render "$rules" "$@" | grep -o 'deviation `[^`]*`' | sed 's/deviation `//; s/`//' | sort -u); do
		awk -v id="$d" '$1 == id { $1 = ""; $2 = ""; sub(/^ +/, ""); print "* `" id "`: " $0; found = 1; exit }
			END { if (!found) print "* `" id "`: not in tests/deviations.cfg" }' tests/deviations.cfg
	done
}

if ((check)); then
	tmp=$(mktemp)
	write_doc "${logs[@]}" >"$tmp"
	[[ -r $out ]] || { echo "conformance: $out is missing: run make conformance and commit it" >&2; exit 1; }
	want=$(grep -o 'QEMU [^,]*, firmware' "$out" | sort -u)
	have=$(grep -o 'QEMU [^,]*, firmware' "$tmp" | sort -u)
	if [[ $want != "$have" ]]; then
		echo "conformance: not compared: $out was made with ${want//$'\n'/; }, these logs come from ${have//$'\n'/; }"
		exit 0
	fi
	if ! diff -u <(grep '^|' "$out") <(grep '^|' "$tmp") >&2; then
		echo "conformance: $out is stale: the table above differs from these logs; run make conformance and commit it" >&2
		exit 1
	fi
	echo "conformance: $out matches the logs (${#logs[@]} runs, $(grep -c '^| [a-z]' "$out" | awk '{print $1 - 1}') rules)"
	exit 0
fi
write_doc "${logs[@]}" >"$out.tmp"
mv -f "$out.tmp" "$out"
echo "conformance: wrote $out from ${#logs[@]} logs"
