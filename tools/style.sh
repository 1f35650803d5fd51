#!/usr/bin/env bash
# tools/style.sh - the tree's one C style, checked (make test runs it).
#
#   tools/style.sh [FILE...]      default: every C file and header in git
#
# The rules (.editorconfig says the same to editors):
#   indent     spaces only, 4 per level: no tab anywhere in C code, and the
#              line after one ending in '{' is indented 4 more than it
#   spaces     no trailing white space, no carriage return
#   functions  no function longer than 60 lines (first line to "}"), except the table
#              parsers listed below (a flat walk over a table's entries,
#              clearer whole than cut up) and the host unit tests and
#              fuzzers (tests/host, tests/fuzz: a test is a list of cases)
# Prints FILE:LINE: what, one line per finding; exit 1 on any finding.
set -euo pipefail
if (($#)); then
	files=()
	for f in "$@"; do [[ $f == /* ]] && files+=("$f") || files+=("$PWD/$f"); done
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MAX_FN=60
# FILE:FUNCTION  reason
LONG_OK='
drivers/acpi_tables.c:acpi_find_table   the RSDT/XSDT walk: one loop over the table
tools/asm-offsets.c:asm_offsets         the generator table: one line per symbol the NASM sources use
'

if ((!$#)); then
	if [[ $(git rev-parse --show-toplevel 2>/dev/null) == "$PWD" ]]; then
		mapfile -t files < <(git ls-files '*.c' '*.h')
	else                                 # not its own git tree (a mutant's scratch copy): every source but build/
		mapfile -t files < <(find . -path ./build -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print | sed 's#^\./##' | sort)
	fi
	((${#files[@]})) || { echo "tools/style.sh: no C files found" >&2; exit 2; }
fi

awk -v max="$MAX_FN" -v ok="$LONG_OK" '
BEGIN {
	n = split(ok, lines, "\n")
	for (i = 1; i <= n; i++) if (split(lines[i], w, " ") >= 1) allowed[w[1]] = 1
	bad = 0
}
function report(msg) { printf "%s:%d: %s\n", FILENAME, FNR, msg; bad = 1 }
FNR == 1 { infn = 0; cand = ""; stmt = 0; starts = 1; open_brace = 0; open_switch = 0 }
{
	line = $0
	if (line ~ /\r$/) report("carriage return")
	if (line ~ /[ \t]+$/) report("trailing white space")
	if (line ~ /\t/) report("tab (indent with 4 spaces)")
	# The line after an opening brace is indented one level (4) deeper
	# than the statement that opened it (its first line, for a condition
	# continued over several lines); the case labels of a switch stay level.
	if (line !~ /^[ \t]*$/ && line !~ /^#/ && line !~ /^[ \t]*(\/\/|\*|\/\*)/) {
		match(line, /^ */); c = RLENGTH
		if (open_brace && line !~ /^[ \t]*\}/ && c != stmt + 4 &&
		    !(open_switch && line ~ /^[ \t]*(case |default)/) && line !~ /^[ \t]*[a-z_]+:$/)
			report("indented " c - stmt " after \"{\" (4 per level)")
		if (starts || c == 0) stmt = c
		open_brace = line ~ /\{[ \t]*$/
		open_switch = line ~ /switch[ \t]*\(/
		code = line
		sub(/[ \t]*\/\*.*\*\/[ \t]*$/, "", code)
		starts = code ~ /([;{}:)]|else|do)[ \t]*$/
	}
}
# Function bodies: a definition starts at column 0 and its body is the
# block from a "{" to a "}" both at column 0.
!infn && /^[A-Za-z_][A-Za-z0-9_ \*\(\),]*\(/ && !/;[ \t]*$/ { cand = $0; candline = FNR; next }
!infn && /^\{/ && cand != "" {
	infn = 1; start = candline; name = cand
	sub(/\(.*/, "", name); k = split(name, w, /[ \*]+/); name = w[k]
	next
}
infn && /^\}/ {
	len = FNR - start + 1
	if (len > max && !((FILENAME ":" name) in allowed) && FILENAME !~ /^tests\/(host|fuzz)\//)
		{ printf "%s:%d: function %s is %d lines (at most %d)\n", FILENAME, start, name, len, max; bad = 1 }
	infn = 0; cand = ""; next
}
!infn && !/^[ \t]/ && !/^$/ && !/\)[ \t]*$/ && !/,[ \t]*$/ { cand = "" }
END { exit bad }
' "${files[@]}"
