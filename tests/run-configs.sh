#!/usr/bin/env bash
# tests/run-configs.sh - run the QEMU configurations of tests/configs.cfg in
# parallel under prove (TAP::Harness), one tests/tap-one.sh per configuration.
#
#   tests/run-configs.sh [-j N] [-g GROUP] [-l] [-v] [NAME...]
#
# Results: prove's console output, build/tap/NAME.tap (TAP per configuration),
# build/junit/NAME.xml (JUnit, needs tap2junit), build/logs/NAME.log (serial
# log), and a last line "N passed, N failed" (configurations) for CI.
# Exit status: prove's (0 all passed, 1 some failed); 2 usage/config errors.
#
# Environment (also read by tests/tap-one.sh):
#   RUN_QEMU  program run instead of ./run-qemu.sh (same options and exit
#             codes; it must write the serial output to the --log FILE or to
#             stdout). For testing the runners with a stub.
#   ACCEL     accelerator for configs without an accel key (default auto).
#   CONFIGS   configuration file (default tests/configs.cfg).
#
# This file is also sourced by tests/tap-one.sh for the configs.cfg parser.
set -euo pipefail

CFG_KEYS=" machine smp sockets cores threads maxcpus mem tests cmdline timeout groups expect fail others requires vga accel smm firmware qemu_params "
# Keys that may be given more than once: their values are joined with newlines.
CFG_MULTI=" fail "
CFG_NAMES=()
declare -A CFG=()

# cfg_parse FILE: read the [name] sections of FILE into CFG_NAMES (file order)
# and CFG[name:key]. '#' starts a comment at the start of a line or after a
# blank. Prints "FILE:LINE: error" on stderr and returns 1 on a bad line.
cfg_parse() {
	local file=$1 line n=0 sect='' key val
	CFG_NAMES=()
	CFG=()
	[[ -r $file ]] || { echo "$file: cannot read" >&2; return 1; }
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		line=${line//$'\r'/}
		[[ $line =~ ^[[:space:]]*# ]] && continue
		line=${line%%[[:space:]]#*}
		line=${line#"${line%%[![:space:]]*}"}
		line=${line%"${line##*[![:space:]]}"}
		[[ -z $line ]] && continue
		if [[ $line =~ ^\[[[:space:]]*([^][:space:]]+)[[:space:]]*\]$ ]]; then
			sect=${BASH_REMATCH[1]}
			if [[ ! $sect =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
				echo "$file:$n: bad config name '$sect' (letters, digits, _ . - only)" >&2
				return 1
			fi
			if [[ -n ${CFG[$sect:]+set} ]]; then
				echo "$file:$n: config [$sect] defined twice" >&2
				return 1
			fi
			CFG[$sect:]=1
			CFG_NAMES+=("$sect")
		elif [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
			key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
			if [[ -z $sect ]]; then
				echo "$file:$n: '$key' outside of a [config] section" >&2
				return 1
			fi
			if [[ $CFG_KEYS != *" $key "* ]]; then
				echo "$file:$n: unknown key '$key' (known:$CFG_KEYS)" >&2
				return 1
			fi
			if [[ $CFG_MULTI == *" $key "* && -n ${CFG[$sect:$key]+set} ]]; then
				CFG[$sect:$key]+=$'\n'$val
			else
				CFG[$sect:$key]=$val
			fi
		else
			echo "$file:$n: cannot parse: $line" >&2
			return 1
		fi
	done <"$file"
}

# cfg_has NAME: is there a config NAME?
cfg_has() { [[ -n ${CFG[$1:]+set} ]]; }
# cfg_get NAME KEY [DEFAULT]
cfg_get() { printf '%s' "${CFG[$1:$2]-${3-}}"; }
# cfg_in_group NAME GROUP
cfg_in_group() { [[ " $(cfg_get "$1" groups) " == *" $2 "* ]]; }
# cfg_vcpus NAME: its vCPU count (smp, else sockets*cores*threads, else 4)
cfg_vcpus() {
	local smp
	smp=$(cfg_get "$1" smp)
	if [[ -z $smp && -n $(cfg_get "$1" sockets)$(cfg_get "$1" cores)$(cfg_get "$1" threads) ]]; then
		smp=$(($(cfg_get "$1" sockets 1) * $(cfg_get "$1" cores 1) * $(cfg_get "$1" threads 1)))
	fi
	echo "${smp:-4}"
}
ALONE_VCPUS=16

run_configs_usage() {
	cat <<'EOF'
Usage: tests/run-configs.sh [-j N] [-g GROUP] [-x GROUP] [-l] [-v] [NAME...]
  -j N      run N configurations in parallel (default: number of cores);
            those with 16 or more vCPUs still run alone, after the rest
  -g GROUP  only configurations whose 'groups' contain GROUP
  -x GROUP  leave out configurations whose 'groups' contain GROUP (make test: -x big)
  -l        list the selected configurations and exit
  -v        verbose prove output (every test point)
  NAME...   only these configurations (default: all in tests/configs.cfg)
Environment: RUN_QEMU (stub instead of ./run-qemu.sh), ACCEL (default auto),
             CONFIGS (default tests/configs.cfg).
EOF
}

run_configs_main() {
	local root jobs group='' exclude='' list=0 verbose=0 opt n rc=0 passed=0 failed=0 st=0
	local -a names=() sel=() files=() prove_args=()
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	cd "$root"
	jobs=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
	while getopts ':j:g:x:lvh' opt; do
		case $opt in
		j)
			[[ $OPTARG =~ ^[1-9][0-9]*$ ]] || { echo "-j: expected a positive number" >&2; run_configs_usage >&2; exit 2; }
			jobs=$OPTARG
			;;
		g) group=$OPTARG ;;
		x) exclude=$OPTARG ;;
		l) list=1 ;;
		v) verbose=1 ;;
		h) run_configs_usage; exit 0 ;;
		*) echo "bad option: -${OPTARG:-?}" >&2; run_configs_usage >&2; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	names=("$@")

	cfg_parse "${CONFIGS:-tests/configs.cfg}" || exit 2
	if ((${#names[@]} == 0)); then
		names=("${CFG_NAMES[@]}")
	fi
	for n in "${names[@]}"; do
		cfg_has "$n" || { echo "unknown configuration: $n (see tests/run-configs.sh -l)" >&2; exit 2; }
		[[ -z $group ]] || cfg_in_group "$n" "$group" || continue
		[[ -z $exclude ]] || ! cfg_in_group "$n" "$exclude" || continue
		sel+=("$n")
	done
	if ((${#sel[@]} == 0)); then
		echo "no configuration selected" >&2
		exit 2
	fi

	if ((list)); then
		printf '%-16s %-7s %-18s %-8s %-22s %s\n' NAME MACHINE CPUS TIMEOUT GROUPS EXPECT
		for n in "${sel[@]}"; do
			local cpus
			cpus=$(cfg_get "$n" smp)
			if [[ -n $(cfg_get "$n" sockets)$(cfg_get "$n" cores)$(cfg_get "$n" threads) ]]; then
				local s c t
				s=$(cfg_get "$n" sockets 1) c=$(cfg_get "$n" cores 1) t=$(cfg_get "$n" threads 1)
				cpus="${cpus:-$((s * c * t))} (${s}s*${c}c*${t}t)"
			fi
			printf '%-16s %-7s %-18s %-8s %-22s %s\n' "$n" "$(cfg_get "$n" machine q35)" \
				"${cpus:-4}" "$(cfg_get "$n" timeout 120)" "$(cfg_get "$n" groups -)" "$(cfg_get "$n" expect pass)"
		done
		exit 0
	fi

	command -v prove >/dev/null || { echo "prove not found (Debian: perl; see tools/deps.sh)" >&2; exit 2; }
	mkdir -p build/t build/tap build/junit build/logs
	rm -f build/t/*.t
	for n in "${sel[@]}"; do
		: >"build/t/$n.t"
		rm -f "build/tap/$n.tap" "build/tap/$n.rc" "build/junit/$n.xml"
		files+=("build/t/$n.t")
	done

	# Probe the accelerator once (the answer is cached in build/.kvm-smm),
	# so the parallel runs don't all probe KVM at the same time.
	if [[ -z ${RUN_QEMU:-} ]]; then
		./run-qemu.sh --dry-run --accel "${ACCEL:-auto}" >/dev/null || true
	fi

	# With -j above 1, a configuration of ALONE_VCPUS vCPUs or more runs
	# alone, after the others: its vCPU threads would starve a neighbour's
	# beyond what the neighbour's bounds allow for (the guest scales them
	# by its own vCPUs and the host's cores, not by another run's; q35-64
	# beside q35-8 or q35-idle-spin failed their timing checks).
	local -a par=() alone=()
	for n in "${sel[@]}"; do
		if ((jobs > 1 && $(cfg_vcpus "$n") >= ALONE_VCPUS)); then
			alone+=("build/t/$n.t")
		else
			par+=("build/t/$n.t")
		fi
	done
	prove_args=(--timer)
	((verbose)) && prove_args+=(-v)
	if ((${#par[@]})); then
		prove -j "$jobs" "${prove_args[@]}" --exec tests/tap-one.sh "${par[@]}" || rc=$?
	fi
	if ((${#alone[@]})); then
		echo "# alone, one at a time (${ALONE_VCPUS}+ vCPUs):"
		prove -j 1 "${prove_args[@]}" --exec tests/tap-one.sh "${alone[@]}" || { st=$?; ((rc)) || rc=$st; }
	fi

	if command -v tap2junit >/dev/null; then
		for n in "${sel[@]}"; do
			[[ -f build/tap/$n.tap ]] || continue
			tap2junit --name "$n" - <"build/tap/$n.tap" >"build/junit/$n.xml" ||
				echo "tap2junit failed for $n" >&2
		done
	else
		echo "note: tap2junit not found (libtap-formatter-junit-perl); no JUnit XML written" >&2
	fi

	# A configuration passed if tap-one.sh exited 0 and its TAP is clean.
	while read -r n verdict; do
		if [[ $verdict == pass ]]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done < <(perl -MTAP::Parser -e '
		for my $n (@ARGV) {
			my ($tap, $rc) = ("", "");
			if (open my $f, "<", "build/tap/$n.tap") { local $/; $tap = <$f>; }
			if (open my $f, "<", "build/tap/$n.rc") { $rc = <$f> // ""; chomp $rc; }
			my $ok = ($rc eq "0" && $tap ne "");
			if ($ok) {
				my $p = TAP::Parser->new({ tap => $tap });
				1 while $p->next;
				$ok = !$p->has_problems;
			}
			print "$n ", ($ok ? "pass" : "fail"), "\n";
		}' "${sel[@]}")

	echo "$passed passed, $failed failed"
	exit "$rc"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	run_configs_main "$@"
fi
