#!/usr/bin/env bash
# tools/layers.sh - the folders are layers and imports only go down.
#
#   tools/layers.sh [-C ROOT] [--objdir DIR]
#
# The order, lowest first (README.md, "Layout of the tree"):
#
#   boot  lib  arch  drivers  kernel  smp  smm  tests  main
#
# A file may include, and call, only its own folder and the folders below
# it. Checked:
#   includes  every #include "F/..." (C) and %include "F/..." (NASM) in the
#             tracked .c .h .asm .inc files, where F is a layer folder
#   calls     every undefined symbol of an object build/k/<folder>/....o
#             (nm) that only objects of higher folders define: an upward
#             call or data reference (symbols no object defines, such as
#             the linker script's, are not judged)
#   the image smm/image/ and the shared sources the SMM image links
#             (the Makefile's SSRC) may include only the pure shared
#             headers listed in IMAGE_HEADERS below: the image is its own
#             binary
# Exceptions: tools/layers.allow, one "FILE TARGET REASON" a line (TARGET:
# the included path or the symbol); a line without a reason is an error.
#
# Output: one line per violation, "file:line: what", then a summary.
# Exit status: 0 clean, 1 violations (or a bad exception list), 2 usage.
set -euo pipefail

ORDER="boot lib arch drivers kernel smp smm tests main"
IMAGE_HEADERS="lib/cpuset.h smm/smm_abi.h smm/synch.h smm/savestate.h smm/cmd.h arch/x86.h arch/spinlock.h lib/kstring.h lib/units.h drivers/apic_regs.h drivers/ich9_tco.h boot/layout.inc"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
objdir=''
while (($#)); do
	case $1 in
	-C) root=$(cd "$2" && pwd); shift ;;
	--objdir) objdir=$2; shift ;;
	-h | --help) sed -n '2,29s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "tools/layers.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
cd "$root"
objdir=${objdir:-build/k}

declare -A rank=()
i=0
for f in $ORDER; do rank[$f]=$i; i=$((i + 1)); done

# ---- the exception list
declare -A allow=()
bad=0
if [[ -f tools/layers.allow ]]; then
	n=0
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		read -r file target reason <<<"$line"
		if [[ -z ${reason:-} ]]; then
			echo "tools/layers.allow:$n: an exception needs a reason: $line"
			bad=$((bad + 1))
			continue
		fi
		allow[$file $target]=1
	done <tools/layers.allow
fi

violations=0
report() {    # FILE LINE TARGET MESSAGE
	[[ -n ${allow[$1 $3]+set} ]] && return 0
	echo "$1:$2: $4"
	violations=$((violations + 1))
}

folder_of() { printf '%s' "${1%%/*}"; }

# ---- sources: tracked files when this is a git tree, else every file
sources() {
	if [[ $(git rev-parse --show-toplevel 2>/dev/null) == "$root" ]]; then
		git ls-files --cached --others --exclude-standard -- '*.c' '*.h' '*.asm' '*.inc'
	else
		find . -type f \( -name '*.c' -o -name '*.h' -o -name '*.asm' -o -name '*.inc' \) | sed 's#^\./##'
	fi | while IFS= read -r f; do [[ -f $f ]] && printf '%s\n' "$f"; done | sort
}

# The sources the SMM image links besides smm/image/ (the Makefile's SSRC).
image_shared=''
if [[ -f Makefile ]]; then
	image_shared=$(sed -n 's/^SSRC[[:space:]]*:=//p' Makefile | tr ' ' '\n' | grep -E '^[a-z_]+/.*\.c$' || true)
fi
is_image_file() {
	[[ $1 == smm/image/* ]] && return 0
	local s
	for s in $image_shared $IMAGE_HEADERS; do [[ $1 == "$s" ]] && return 0; done
	return 1
}
image_may_include() {
	[[ $1 == smm/image/* ]] && return 0
	local h
	for h in $IMAGE_HEADERS; do [[ $1 == "$h" ]] && return 0; done
	return 1
}

# ---- includes
while IFS= read -r f; do
	own=$(folder_of "$f")
	[[ -n ${rank[$own]+set} ]] || continue
	while IFS=: read -r ln inc; do
		to=$(folder_of "$inc")
		[[ -n ${rank[$to]+set} ]] || continue
		if ((rank[$to] > rank[$own])); then
			report "$f" "$ln" "$inc" "includes $inc: $to is above $own (order: $ORDER)"
		fi
		if is_image_file "$f" && ! image_may_include "$inc"; then
			report "$f" "$ln" "$inc" "includes $inc: the SMM image may include only smm/image/ and $IMAGE_HEADERS"
		fi
	done < <(grep -n -E '^[[:space:]]*[#%][[:space:]]*include[[:space:]]*"' "$f" |
		sed -E 's/^([0-9]+):[[:space:]]*[#%][[:space:]]*include[[:space:]]*"([^"]+)".*/\1:\2/')
done < <(sources)

# ---- calls
if [[ -d $objdir ]] && command -v nm >/dev/null; then
	declare -A src_of=()
	objs=()
	while IFS= read -r o; do
		rel=${o#"$objdir"/}
		base=${rel%.o}
		s=''
		for ext in c asm; do [[ -f $base.$ext ]] && s=$base.$ext; done
		[[ -n $s ]] || continue            # a stale object of a moved source
		[[ -n ${rank[$(folder_of "$base")]+set} ]] || continue
		src_of[$o]=$s
		objs+=("$o")
	done < <(find "$objdir" -name '*.o' | sort)
	# symbol -> lowest folder rank that defines it
	declare -A def_rank=() def_where=()
	for o in "${objs[@]}"; do
		r=${rank[$(folder_of "${src_of[$o]}")]}
		while read -r sym; do
			if [[ -z ${def_rank[$sym]+set} ]] || ((r < def_rank[$sym])); then
				def_rank[$sym]=$r
				def_where[$sym]=${src_of[$o]}
			fi
		done < <(nm --defined-only "$o" | awk '$2 ~ /^[A-Z]$/ { print $3 }')
	done
	for o in "${objs[@]}"; do
		s=${src_of[$o]}
		own=$(folder_of "$s")
		while read -r sym; do
			[[ -n ${def_rank[$sym]+set} ]] || continue
			((def_rank[$sym] > rank[$own])) || continue
			ln=$(grep -n -w -m1 -- "$sym" "$s" | cut -d: -f1 || true)
			report "$s" "${ln:-1}" "$sym" "uses $sym, defined only above $own (in ${def_where[$sym]}; order: $ORDER)"
		done < <(nm -u "$o" | awk '{ print $2 }')
	done
else
	echo "tools/layers.sh: no objects in $objdir: calls not checked (make all first)" >&2
	bad=$((bad + 1))
fi

if ((violations || bad)); then
	echo "layers: $violations upward import(s); order: $ORDER"
	exit 1
fi
echo "layers: every include and call goes down (order: $ORDER)"
