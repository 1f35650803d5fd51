#!/usr/bin/env bash
# tools/mutants.sh - the mutation suite: proof that every test can fail.
#
#   tools/mutants.sh [-l] [--check] [--sample] [-k] [NAME...]
#
# Each mutant of the catalogue (tests/mutants/*.cfg, format in
# tests/mutants/README.md) edits one place of the product code in a scratch
# copy of the tree so that one row of the feature map breaks, builds the
# copy, boots one configuration of tests/configs.cfg through
# tests/tap-one.sh and requires the named result(s) to fail with the named
# reason. The product code carries no mutation hooks: the edit is the
# mutant.
#
#   (no option)  run every mutant (or the NAMEs given), print the table
#   --sample     run only the mutants marked 'sample = yes' (make test)
#   --check      only check the catalogue: every 'find' text occurs exactly
#                once in its file, every key is known, every row of the
#                feature map has a mutant, at least 40 mutants
#   -l           list the mutants (name, row, config, expected killer)
#   -k           keep each mutant's scratch tree (build/mutants/work-NAME)
#
# Output: a table (mutant, row, expected killer, killed by, seconds) and a
# last line "N passed, N failed" (killed, not killed). Per-mutant TAP and
# serial logs: build/mutants/NAME.tap, build/mutants/NAME.log.
# Exit status: 0 every mutant killed (or the catalogue is sound, --check);
# 1 a survivor, a stale mutant or a catalogue error; 2 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=tests/run-configs.sh
source tests/run-configs.sh

# The rows of the feature map that must each have a mutant, and the
# backends and claim-1 cases that must each have their own.
ROWS_REQUIRED="A1 A2 A3 A4 A5 A6 A7 B1 B2 B3 B4 C1 C2 C3 C4 C5 C6 C7 C8 D2 D3 D5 D6"
MIN_MUTANTS=60
MUT_KEYS=" row claim file find replace config tests cmdline timeout kill sample note expect "
OUT=build/mutants

usage() { sed -n '2,25s/^# \{0,1\}//p' "$0"; }

list=0 check=0 sample=0 keep=0
names=()
while (($#)); do
	case $1 in
	-l) list=1 ;;
	--check) check=1 ;;
	--sample) sample=1 ;;
	-k) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "tools/mutants.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) names+=("$1") ;;
	esac
	shift
done

# ---------------------------------------------------------------- catalogue
declare -A M=()
MNAMES=()
errors=0
cat_error() { echo "tools/mutants.sh: $*" >&2; errors=$((errors + 1)); }

shopt -s nullglob
catalogue=(tests/mutants/*.cfg)
((${#catalogue[@]})) || { echo "tools/mutants.sh: no tests/mutants/*.cfg" >&2; exit 1; }
for f in "${catalogue[@]}"; do
	CFG_KEYS=$MUT_KEYS CFG_MULTI=" kill " cfg_parse "$f" || exit 1
	for n in "${CFG_NAMES[@]}"; do
		[[ -z ${M[$n:]+set} ]] || { cat_error "$f: mutant [$n] defined twice"; continue; }
		M[$n:]=$f
		MNAMES+=("$n")
		for k in $MUT_KEYS; do
			[[ -z ${CFG[$n:$k]+set} ]] || M[$n:$k]=${CFG[$n:$k]}
		done
	done
done
mget() { printf '%s' "${M[$1:$2]-${3-}}"; }

# Configurations, for the 'config' key.
cfg_parse tests/configs.cfg || exit 1

# 'find'/'replace' texts: \n is a newline, \t a tab, \\ a backslash.
unescape() { perl -e '$_ = shift; s/\\(n|t|\\)/$1 eq "n" ? "\n" : $1 eq "t" ? "\t" : "\\"/ge; print' -- "$1"; }

# apply TREE NAME [--dry]: edit TREE/file; prints the occurrence count if it is not 1.
apply() {
	local tree=$1 n=$2 dry=${3-}
	local file find repl
	# (the x keeps the trailing newlines a command substitution would drop)
	file=$(mget "$n" file) find=$(unescape "$(mget "$n" find)"; echo x) repl=$(unescape "$(mget "$n" replace)"; echo x)
	find=${find%x} repl=${repl%x}
	[[ -f $tree/$file ]] || { echo "no file $file"; return 1; }
	MUT_FIND=$find MUT_REPL=$repl MUT_DRY=$dry perl -0777 -i -ne '
		my ($f, $r) = ($ENV{MUT_FIND}, $ENV{MUT_REPL});
		my $count = () = /\Q$f\E/g;
		if ($count != 1) { print; print STDERR "$count occurrences of the find text\n"; exit 1 }
		s/\Q$f\E/$r/ unless $ENV{MUT_DRY};
		print;' "$tree/$file"
}

validate() {
	local n=$1 k msg row
	for k in row file find config kill; do
		[[ -n $(mget "$n" "$k") ]] || cat_error "[$n]: no '$k'"
	done
	row=$(mget "$n" row)
	[[ $row =~ ^[ABCD][0-9]+$ ]] || cat_error "[$n]: row '$row' is not a feature-map row (A1, B2, ...)"
	[[ -z $(mget "$n" config) || $(mget "$n" config) == host ]] || cfg_has "$(mget "$n" config)" ||
		cat_error "[$n]: no configuration [$(mget "$n" config)] in tests/configs.cfg"
	[[ $(mget "$n" find) != "$(mget "$n" replace)" ]] || cat_error "[$n]: find and replace are the same"
	[[ $(mget "$n" expect fail) == fail || $(mget "$n" expect) == crash ]] ||
		cat_error "[$n]: bad 'expect = $(mget "$n" expect)' (fail or crash)"
	while IFS= read -r k; do
		[[ -z $k || $k == *" | "* ]] || cat_error "[$n]: bad 'kill = $k' (GLOB | ERE)"
	done <<<"$(mget "$n" kill)"
	# Stale: the find text must occur exactly once (checked on a copy).
	local file
	file=$(mget "$n" file)
	if [[ -f $file ]]; then
		mkdir -p "$tmp/$(dirname "$file")"
		cp "$file" "$tmp/$file"
		msg=$(apply "$tmp" "$n" --dry 2>&1 >/dev/null) ||
			cat_error "[$n]: stale: $file: ${msg:-does not apply}"
	elif [[ -n $file ]]; then
		cat_error "[$n]: no file $file"
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-mut.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

sel=()
if ((${#names[@]})); then
	for n in "${names[@]}"; do
		[[ -n ${M[$n:]+set} ]] || { echo "tools/mutants.sh: no mutant [$n] (tools/mutants.sh -l)" >&2; exit 2; }
		sel+=("$n")
	done
else
	for n in "${MNAMES[@]}"; do
		((sample)) && [[ $(mget "$n" sample no) != yes ]] && continue
		sel+=("$n")
	done
fi

if ((list)); then
	printf '%-28s %-4s %-16s %s\n' MUTANT ROW CONFIG "EXPECTED KILLER"
	for n in "${sel[@]}"; do
		printf '%-28s %-4s %-16s %s\n' "$n" "$(mget "$n" row)" "$(mget "$n" config)" \
			"$(mget "$n" kill | sed 's/ | .*//' | paste -sd';' -)"
	done
	exit 0
fi

for n in "${MNAMES[@]}"; do validate "$n"; done
if ((check)) || ((${#names[@]} == 0 && !sample)); then
	# The coverage rules hold for the whole catalogue.
	declare -A per_row=()
	for n in "${MNAMES[@]}"; do per_row[$(mget "$n" row)]=$((${per_row[$(mget "$n" row)]:-0} + 1)); done
	for r in $ROWS_REQUIRED; do
		((${per_row[$r]:-0})) || cat_error "row $r has no mutant"
	done
	((${#MNAMES[@]} >= MIN_MUTANTS)) || cat_error "${#MNAMES[@]} mutants; the catalogue needs at least $MIN_MUTANTS"
fi
if ((errors)); then
	echo "tools/mutants.sh: the catalogue has $errors error(s)" >&2
	exit 1
fi
if ((check)); then
	rows=$(for n in "${MNAMES[@]}"; do mget "$n" row; echo; done | sort -u | paste -sd' ' -)
	echo "mutants: catalogue sound: ${#MNAMES[@]} mutants, every one applies; rows: $rows"
	exit 0
fi

# ---------------------------------------------------------------- run
mkdir -p "$OUT"
base=$OUT/base
echo "mutants: building the unmutated tree in $base" >&2
rm -rf "$base"
mkdir -p "$base"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
	[[ -e $f ]] && printf '%s\0' "$f"
done | xargs -0 cp -a --parents -t "$base"
make -C "$base" -j2 all >"$OUT/base-build.log" 2>&1 || {
	echo "tools/mutants.sh: the unmutated tree does not build (see $OUT/base-build.log)" >&2
	exit 1
}
# The accelerator probe, once: the mutants boot as the configurations do.
./run-qemu.sh --dry-run --accel "${ACCEL:-auto}" >/dev/null 2>&1 || true
[[ -f build/.kvm-smm ]] && cp build/.kvm-smm "$base/build/.kvm-smm"

killed=0 survived=0
results=$OUT/results.tsv
printf 'mutant\trow\texpected\tkilled_by\tseconds\tverdict\n' >"$results"
printf '%-28s %-4s %-44s %-44s %5s\n' MUTANT ROW "EXPECTED KILLER" "KILLED BY" SECS
for n in "${sel[@]}"; do
	t0=$(date +%s)
	work=$OUT/work-$n
	rm -rf "$work"
	cp -a "$base" "$work"
	verdict='' by=''
	if ! msg=$(apply "$work" "$n" 2>&1); then
		verdict="stale ($msg)"
	elif ! make -C "$work" -j2 all >"$OUT/$n.build.log" 2>&1; then
		verdict="does not build (see $OUT/$n.build.log)"
	else
		cfgname=$(mget "$n" config)
		run_qemu=''
		if [[ $cfgname == host ]]; then
			run_qemu=tools/host-tap.sh       # the host unit tests, as TAP
			cfgname=''
		fi
		{
			echo "[$n]"
			for key in machine smp sockets cores threads maxcpus mem vga accel smm firmware qemu_params; do
				v=$(cfg_get "$cfgname" "$key")
				[[ -z $v ]] || echo "$key = $v"
			done
			echo "tests = $(mget "$n" tests "$(cfg_get "$cfgname" tests '*')")"
			c="$(cfg_get "$cfgname" cmdline) $(mget "$n" cmdline)"
			c=${c# } c=${c% }
			[[ -z $c ]] || echo "cmdline = $c"
			echo "timeout = $(mget "$n" timeout "$(cfg_get "$cfgname" timeout 120)")"
			echo "expect = $(mget "$n" expect fail)"
			echo "others = allow"
			while IFS= read -r k; do [[ -z $k ]] || echo "fail = $k"; done <<<"$(mget "$n" kill)"
		} >"$work/build/mutant.cfg"
		mkdir -p "$work/build/t"
		: >"$work/build/t/$n.t"
		st=0
		(cd "$work" && CONFIGS=build/mutant.cfg RUN_QEMU=$run_qemu tests/tap-one.sh "build/t/$n.t") >/dev/null 2>&1 </dev/null || st=$?
		cp "$work/build/tap/$n.tap" "$OUT/$n.tap" 2>/dev/null || : >"$OUT/$n.tap"
		cp "$work/build/logs/$n.log" "$OUT/$n.log" 2>/dev/null || true
		by=$(grep -v ' # TODO\| # SKIP' "$OUT/$n.tap" | sed -n 's/^# not ok [0-9]* - \([^: ]*\).*/\1/p' | sort -u | paste -sd, -) || true
		if ((st == 0)); then
			verdict=killed
		else
			verdict="not killed: $(grep '^not ok' "$OUT/$n.tap" | head -n 2 | sed 's/^not ok [0-9]* - //' | paste -sd';' -)"
		fi
	fi
	secs=$(($(date +%s) - t0))
	expected=$(mget "$n" kill | sed 's/ | .*//' | paste -sd';' -)
	if [[ $verdict == killed ]]; then
		killed=$((killed + 1))
		printf '%-28s %-4s %-44s %-44s %5s\n' "$n" "$(mget "$n" row)" "$expected" "${by:--}" "$secs"
	else
		survived=$((survived + 1))
		printf '%-28s %-4s %-44s %-44s %5s  SURVIVED: %s\n' "$n" "$(mget "$n" row)" "$expected" "${by:--}" "$secs" "$verdict"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$(mget "$n" row)" "$expected" "$by" "$secs" "$verdict" >>"$results"
	((keep)) || rm -rf "$work"
done
echo "mutants: $killed killed, $survived not killed (table: $results)"
echo "$killed passed, $survived failed"
((survived == 0))
