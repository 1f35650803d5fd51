# tests/host/check.sh - sourced by the shell host tests: one TAP line per
# check. check NAME COMMAND...: ok when COMMAND succeeds; on a failure the
# last 20 lines of the files named in CHECK_SHOW follow as diagnostics.
# n and failed count the checks and the failures.
n=0 failed=0
check() {
	local name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		failed=$((failed + 1))
		# shellcheck disable=SC2086 # a list of paths
		sed 's/^/#   /' $CHECK_SHOW 2>/dev/null | tail -n 20
	fi
}
