#!/usr/bin/env bash
# tests/host/test_conformance.sh - tools/conformance.sh on made-up serial
# logs: each kind of cell from the results that decide it, a column per log,
# and --check telling a matching table from a stale one.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/rules.cfg" <<'CFG'
[r-pass]
sdm = 1
rule = passes
tests = t.pass
[r-dev]
sdm = 2
rule = a known deviation among passes
tests = t.dev
[r-fail]
sdm = 3
rule = one result fails
tests = t.fail
[r-ns]
sdm = 4
rule = not supported
tests = t.ns
[r-none]
sdm = 5
rule = nothing ran
tests = t.absent
[r-notest]
sdm = 6
rule = no test
tests = -
[r-mixed]
sdm = 8
rule = some parts absent
tests = t.mix
[r-suffix]
sdm = 7
rule = a backend suffix counts, a longer name does not
tests = t.sfx
CFG
log() {  # machine accel qemu
	printf '# machine: %s (host bridge 8086:29c0), accelerator: %s, VGA present, 4 CPUs in the MADT\n' "$1" "$2"
	printf '# platform: QEMU %s, firmware seabios (the known deviations are chosen for these)\n' "$3"
	printf '# cpus: 4 enabled in the MADT, 4 online\n'
	printf 'ok 1 - t.pass: one\nok 2 - t.pass: two\n'
	printf 'ok 3 - t.dev: fine\nnot ok 4 - t.dev: the rule # TODO known-deviation dev-x (desc): evidence\n'
	printf 'ok 5 - t.fail: fine\nnot ok 6 - t.fail: broken\n'
	printf 'ok 7 - t.ns: SMRR # SKIP not supported: MTRRcap bit 11 clear\n'
	printf 'ok 8 - t.sfx.mem: a backend\nnot ok 9 - t.sfxother: another test\n'
	printf 'ok 10 - t.mix: here\nok 11 - t.mix: A # SKIP not supported: gone\nok 12 - t.mix: B # SKIP not supported: gone\n'
}
log q35 tcg 7.2.22 >"$work/a.log"
log pc kvm 7.2.22 >"$work/b.log"
export CONFORMANCE_OUT=$work/out.md CONFORMANCE_CFG=$work/rules.cfg
CHECK_SHOW="$work/out.md $work/err"
# shellcheck source=tests/host/check.sh
source "$HERE/tests/host/check.sh"
row() { grep "^| $1 |" "$work/out.md"; }
"$HERE/tools/conformance.sh" "$work/a.log" "$work/b.log" >"$work/err" 2>&1
check "it writes the table from two logs" test -s "$work/out.md"
check "a column per log, named by machine, accelerator, QEMU version and firmware" \
	grep -q '| q35 / TCG, QEMU 7.2.22, seabios | pc / KVM, QEMU 7.2.22, seabios |$' "$work/out.md"
check "every result passed: pass" bash -c '[[ "$0" == *"| pass | pass |" ]]' "$(row r-pass)"
check "a known deviation: its id" bash -c '[[ "$0" == *"| deviation \`dev-x\` | deviation \`dev-x\` |" ]]' "$(row r-dev)"
check "a failed result: FAIL" bash -c '[[ "$0" == *"| **FAIL** | **FAIL** |" ]]' "$(row r-fail)"
check "a SKIP not supported: not supported" bash -c '[[ "$0" == *"| not supported | not supported |" ]]' "$(row r-ns)"
check "no result: not run" bash -c '[[ "$0" == *"| not run | not run |" ]]' "$(row r-none)"
check "no test: no test yet" bash -c '[[ "$0" == *"| no test yet | no test yet |" ]]' "$(row r-notest)"
check "passes and absent parts: pass; not supported: 2" bash -c '[[ "$0" == *"| pass; not supported: 2 | pass; not supported: 2 |" ]]' "$(row r-mixed)"
check "TEST.SUFFIX counts, TESTmore does not" bash -c '[[ "$0" == *"| pass | pass |" ]]' "$(row r-suffix)"
check "a deviation id is listed under the table" grep -q '^\* `dev-x`: not in tests/deviations.cfg' "$work/out.md"
"$HERE/tools/conformance.sh" --check "$work/a.log" "$work/b.log" >"$work/err" 2>&1
check "--check: the same logs match" [ $? = 0 ]
sed -i 's/^not ok 6 - t.fail: broken$/ok 6 - t.fail: mended/' "$work/a.log"
"$HERE/tools/conformance.sh" --check "$work/a.log" "$work/b.log" >"$work/err" 2>&1
st=$?
check "--check: a changed cell is a stale table (status $st)" bash -c '[ "$0" = 1 ] && grep -q "is stale" "$1"' "$st" "$work/err"
sed -i 's/QEMU 7.2.22/QEMU 9.2.0/' "$work/a.log" "$work/b.log"
"$HERE/tools/conformance.sh" --check "$work/a.log" "$work/b.log" >"$work/err" 2>&1
st=$?
check "--check: logs from another QEMU are not compared (status $st)" bash -c '[ "$0" = 0 ] && grep -q "not compared" "$1"' "$st" "$work/err"
echo "1..$n"
echo "# conformance: $((n - failed)) passed, $failed failed"
((failed == 0))
