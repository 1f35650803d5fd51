#!/usr/bin/env bash
# tests/host/test_layers.sh - tools/layers.sh itself, on tiny fake trees
# built here: an upward include, an upward call and an image that includes
# a driver header must each fail, naming file:line; a clean tree and a
# reasoned exception pass; an exception without a reason fails. Prints TAP;
# exit 1 on a failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CC=${HOST_CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-layers.XXXXXX")
trap 'rm -rf "$work"' EXIT

CHECK_SHOW=$work/out
# shellcheck source=tests/host/check.sh
source "$HERE/tests/host/check.sh"

# tree DIR: the clean fake tree (lib <- drivers <- kernel, and an image file).
tree() {
	local t=$1
	rm -rf "$t"
	mkdir -p "$t/lib" "$t/drivers" "$t/kernel" "$t/smm/image" "$t/tools"
	printf 'int lib_add(int a, int b);\n' >"$t/lib/add.h"
	printf '#include "lib/add.h"\nint lib_add(int a, int b) { return a + b; }\n' >"$t/lib/add.c"
	printf 'int drv_read(void);\n' >"$t/drivers/dev.h"
	printf '#include "drivers/dev.h"\n#include "lib/add.h"\nint drv_read(void) { return lib_add(1, 2); }\n' \
		>"$t/drivers/dev.c"
	printf 'int kern_main(void);\n' >"$t/kernel/k.h"
	printf '#include "kernel/k.h"\n#include "drivers/dev.h"\nint kern_main(void) { return drv_read(); }\n' \
		>"$t/kernel/k.c"
	printf '#include "smm/image/img.h"\n' >"$t/smm/image/img.c"
	: >"$t/smm/image/img.h"
}

# build DIR: compile every .c into DIR/build/k/, as the Makefile does.
build() {
	local t=$1 c
	(cd "$t" && for c in $(find . -name '*.c' | sed 's#^\./##'); do
		mkdir -p "build/k/$(dirname "$c")"
		"$CC" -c -I. "$c" -o "build/k/${c%.c}.o" || exit 1
	done)
}

layers() { "$HERE/tools/layers.sh" -C "$1" >"$work/out" 2>&1; }
says() { grep -q -E -- "$1" "$work/out"; }
fails_with() { ! layers "$1" && says "$2"; }

t=$work/t
tree "$t" && build "$t"
check "a clean tree passes" layers "$t"

tree "$t"
printf '#include "kernel/k.h"\n#include "lib/add.h"\nint lib_twice(int a) { return lib_add(a, a); }\n' >"$t/lib/twice.c"
build "$t"
check "an upward include fails at file:line" fails_with "$t" '^lib/twice\.c:1: includes kernel/k\.h'
check "the upward include is the only finding" eval '[[ $(grep -c "^[a-z].*:[0-9]*: " "$work/out") == 1 ]]'

tree "$t"
printf '#include "lib/add.h"\nint kern_main(void);\n\nint lib_boot(void) { return kern_main(); }\n' >"$t/lib/boot.c"
build "$t"
check "an upward call fails at file:line" fails_with "$t" '^lib/boot\.c:2: uses kern_main, defined only above lib \(in kernel/k\.c'

tree "$t"
printf '%%include "drivers/regs.inc"\n' >"$t/lib/entry.asm"
build "$t"
check "an upward NASM %include fails at file:line" fails_with "$t" '^lib/entry\.asm:1: includes drivers/regs\.inc'

tree "$t"
printf '#include "smm/image/img.h"\n\n#include "drivers/dev.h"\n' >"$t/smm/image/img.c"
build "$t"
check "the image including a driver header fails at file:line" fails_with "$t" \
	'^smm/image/img\.c:3: includes drivers/dev\.h: the SMM image may include only'

printf 'smm/image/img.c drivers/dev.h a reason given here\n' >"$t/tools/layers.allow"
check "an exception with a reason lets it pass" layers "$t"

printf 'smm/image/img.c drivers/dev.h\n' >"$t/tools/layers.allow"
check "an exception without a reason fails" fails_with "$t" '^tools/layers\.allow:1: an exception needs a reason'

tree "$t"
check "no objects: the call check cannot run, which fails" fails_with "$t" 'calls not checked'

echo "1..$n"
((failed == 0))
