# shellcheck shell=bash
# Shared by tools/fuzz.sh and tools/model-check.sh: print each job's result
# file (its first word is "ok" or "FAIL") and the closing "N passed, N failed"
# line; returns non-zero if any job failed or left no result.
#   tally NAME=RESULT_FILE ...
tally() {
	local passed=0 failed=0 pair name r
	for pair in "$@"; do
		name=${pair%%=*} r=${pair#*=}
		if [[ -s $r ]]; then
			cat "$r"
			if [[ $(head -c 2 "$r") == ok ]]; then
				passed=$((passed + 1))
			else
				failed=$((failed + 1))
			fi
		else
			echo "FAIL $name: no result"
			failed=$((failed + 1))
		fi
	done
	# shellcheck disable=SC2034 # read by the caller
	TALLY_LINE="$passed passed, $failed failed"
	((failed == 0))
}
