#!/usr/bin/env bash
# tests/host/test_style.sh - tools/style.sh itself, on small C files written
# here: a tab, a 2-space level, a trailing blank, a carriage return and a
# 61-line function must each be reported with file:line; a clean file, a
# switch with level case labels, a condition continued over lines and a
# 60-line function pass. Prints TAP; exit 1 on a failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-style.XXXXXX")
trap 'rm -rf "$work"' EXIT

CHECK_SHOW=$work/out
# shellcheck source=tests/host/check.sh
source "$HERE/tests/host/check.sh"

style() { "$HERE/tools/style.sh" "$@" >"$work/out" 2>&1; }
says() { grep -q -- "$1" "$work/out"; }
fails_with() { ! style "$1" && says "$2"; }

# body N: a function of N lines, from its first line to its "}".
body() {
	local i
	printf 'int f(int a)\n{\n'
	for ((i = 0; i < $1 - 4; i++)); do printf '    a++;\n'; done
	printf '    return a;\n}\n'
}

cat >"$work/clean.c" <<'C'
/* A clean file. */
static int g(int a, int b)
{
    switch (a) {
    case 1:
        return b;
    default:
        break;
    }
    if (a > 1 &&
        b > 2) {
        a = b;
    }
    for (int i = 0; i < b; i++)
        if (i) {
            a += i;
        }
    return a;
}
C
check "a clean file passes" style "$work/clean.c"
printf 'int f(void)\n{\n\treturn 1;\n}\n' >"$work/tab.c"
check "a tab is reported with its line" fails_with "$work/tab.c" 'tab.c:3: tab'
printf 'int f(void)\n{\n  return 1;\n}\n' >"$work/two.c"
check "a 2-space level is reported" fails_with "$work/two.c" 'two.c:3: indented 2 after'
printf 'int f(void)\n{\n    return 1; \n}\n' >"$work/blank.c"
check "a trailing blank is reported" fails_with "$work/blank.c" 'blank.c:3: trailing white space'
printf 'int f(void)\r\n{\n    return 1;\n}\n' >"$work/cr.c"
check "a carriage return is reported" fails_with "$work/cr.c" 'cr.c:1: carriage return'
body 60 >"$work/f60.c"
check "a 60-line function passes" style "$work/f60.c"
body 61 >"$work/f61.c"
check "a 61-line function is reported" fails_with "$work/f61.c" 'f61.c:1: function f is 61 lines'

echo "1..$n"
echo "# tools/style.sh: $((n - failed)) passed, $failed failed"
((failed == 0))
