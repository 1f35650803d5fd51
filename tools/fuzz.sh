#!/usr/bin/env bash
# tools/fuzz.sh - build the libFuzzer targets in tests/fuzz/ and run each for
# a bounded time: the multiboot2 parser, the ACPI table walker and parsers,
# the SMM command validators and the command-line helpers.
#
#   tools/fuzz.sh [-j N] [-f] [-l] [TARGET...]
#
#   -j N     run N targets at once (default: the number of CPUs)
#   -f       start from the seed corpus only (forget what earlier runs found)
#   -l       list the targets and exit
#   TARGET   run only these (default: all: mb2 acpi cmd cmdline)
#
# Environment: FUZZ_SECONDS (default 15) per target, FUZZ_CC (clang).
# Each target is built with clang -fsanitize=fuzzer,address,undefined into
# build/fuzz/fuzz_TARGET and run on build/fuzz/corpus-TARGET (the seeds of
# tests/fuzz/corpus/TARGET copied in, plus what earlier runs added); its
# output is in build/fuzz/TARGET.log and a crashing input in
# build/fuzz/TARGET-crash-* (replay: build/fuzz/fuzz_TARGET FILE).
# One line per target, then "N passed, N failed".
# Exit status: 0 no target failed, 1 a crash or a build failure, 2 usage.
set -euo pipefail
# shellcheck source=tools/lib/tally.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/tally.sh"

cd "$(dirname "$0")/.."
OUT=build/fuzz
SEEDS=tests/fuzz/corpus
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
FUZZ_CC=${FUZZ_CC:-clang}
# shellcheck disable=SC2054  # commas inside one -fsanitize= argument
CFLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-DSMMSYNC_HOST -I. -std=c11 -Wall -Wextra)
ALL_TARGETS=(mb2 acpi cmd cmdline)

# The code under test of each target, and extra flags: compiler | libFuzzer.
sources_of() {
	case $1 in
	mb2) echo "tests/fuzz/fuzz_mb2.c lib/mb2.c lib/printf.c" ;;
	acpi) echo "tests/fuzz/fuzz_acpi.c drivers/acpi_tables.c lib/printf.c" ;;
	cmd) echo "tests/fuzz/fuzz_cmd.c smm/cmd.c" ;;
	cmdline) echo "tests/fuzz/fuzz_cmdline.c lib/cmdline.c" ;;
	*) return 1 ;;
	esac
}
fuzzflags_of() {
	case $1 in
	cmd) echo "-max_len=120 -use_value_profile=1" ;;
	*) echo "" ;;
	esac
}

usage() {
	echo "usage: tools/fuzz.sh [-j N] [-f] [-l] [TARGET...]" >&2
	exit 2
}

jobs_max=$(nproc 2>/dev/null || echo 1)
fresh=0 list=0
while getopts "j:flh" opt; do
	case $opt in
	j) [[ $OPTARG =~ ^[1-9][0-9]*$ ]] || usage; jobs_max=$OPTARG ;;
	f) fresh=1 ;;
	l) list=1 ;;
	h) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[[ $FUZZ_SECONDS =~ ^[1-9][0-9]*$ ]] || {
	echo "fuzz: FUZZ_SECONDS must be a positive integer, not '$FUZZ_SECONDS'" >&2
	exit 2
}

if ((list)); then
	for t in "${ALL_TARGETS[@]}"; do
		printf '%-8s %s\n' "$t" "$(sources_of "$t")"
	done
	exit 0
fi
targets=("$@")
((${#targets[@]})) || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
	sources_of "$t" >/dev/null || { echo "fuzz: unknown target '$t' (-l lists them)" >&2; exit 2; }
done

mkdir -p "$OUT"

# Can the compiler link a fuzzer at all?  Debian ships the libFuzzer
# runtime (libclang_rt.fuzzer-x86_64.a) in libclang-rt-14-dev, which clang
# only recommends.
probe=$OUT/.probe
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	>"$probe.c"
if ! command -v "$FUZZ_CC" >/dev/null ||
	! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" >"$probe.log" 2>&1; then
	echo "fuzz: '$FUZZ_CC -fsanitize=fuzzer' does not work ($(head -c 200 "$probe.log" 2>/dev/null | tr '\n' ' '))" >&2
	echo "fuzz: on Debian 12 install clang and libclang-rt-dev (tools/deps.sh does)" >&2
	echo "0 passed, ${#targets[@]} failed"
	exit 1
fi
rm -f "$probe" "$probe.c" "$probe.log"

# final_stat NAME LOG: a libFuzzer final statistic (-print_final_stats=1).
final_stat() {
	sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -1
}

# run_one TARGET: build, run; writes $OUT/TARGET.result ("ok|FAIL ...")
# and always returns 0.
run_one() {
	local t=$1 bin=$OUT/fuzz_$1 log=$OUT/$1.log corpus=$OUT/corpus-$1
	local res=$OUT/$1.result srcs ff last cov ft corp runs eps artifact why
	local t0 t1 rc=0
	read -r -a srcs <<<"$(sources_of "$t")"
	read -r -a ff <<<"$(fuzzflags_of "$t")"
	rm -f "$res" "$log" "$OUT/$t"-crash-* "$OUT/$t"-leak-* "$OUT/$t"-timeout-* "$OUT/$t"-oom-*
	if ! "$FUZZ_CC" "${CFLAGS[@]}" "${srcs[@]}" -o "$bin" >"$OUT/$t.build.log" 2>&1; then
		printf 'FAIL %-8s build failed: %s\n' "$t" \
			"$(grep -m1 -E 'error' "$OUT/$t.build.log" || head -c 200 "$OUT/$t.build.log")" >"$res"
		return 0
	fi
	((fresh)) && rm -rf "$corpus"
	mkdir -p "$corpus"
	cp -f "$SEEDS/$t"/* "$corpus"/
	t0=$(date +%s)
	# -timeout: one input may take 10 s; the outer timeout is a backstop.
	timeout -k 10 $((FUZZ_SECONDS + 120)) "$bin" -max_total_time="$FUZZ_SECONDS" \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$OUT/$t-" \
		"${ff[@]}" "$corpus" >"$log" 2>&1 || rc=$?
	t1=$(date +%s)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
	runs=$(final_stat number_of_executed_units "$log")
	eps=$(final_stat average_exec_per_sec "$log")
	artifact=''
	for f in "$OUT/$t"-crash-* "$OUT/$t"-leak-* "$OUT/$t"-timeout-* "$OUT/$t"-oom-*; do
		[[ -e $f ]] && { artifact=$f; break; }
	done
	if ((rc == 0)) && [[ -z $artifact ]]; then
		printf 'ok   %-8s runs=%-9s exec/s=%-7s cov=%-4s ft=%-5s corpus=%-4s %ss\n' \
			"$t" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$((t1 - t0))" >"$res"
	else
		why=$(grep -m1 -E '^(SUMMARY: |==[0-9]+== ?ERROR: )|check failed|^fuzz_[a-z]+: ' "$log" || true)
		printf 'FAIL %-8s exit %s after %ss: %s%s\n' "$t" "$rc" "$((t1 - t0))" \
			"${why:-see $log}" \
			"${artifact:+ (input: $artifact; replay: $bin $artifact)}" >"$res"
	fi
	return 0
}

echo "# fuzz: ${#targets[@]} target(s), ${FUZZ_SECONDS}s each, $jobs_max at a time"
start=$(date +%s)
running=0
for t in "${targets[@]}"; do
	if ((running >= jobs_max)); then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$t" &
	running=$((running + 1))
done
wait || true

pairs=()
for t in "${targets[@]}"; do pairs+=("$t=$OUT/$t.result"); done
status=0
tally "${pairs[@]}" || status=1
echo "# fuzz took $(($(date +%s) - start)) s; logs in $OUT/TARGET.log"
echo "$TALLY_LINE"
exit "$status"
