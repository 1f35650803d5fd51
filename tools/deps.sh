#!/usr/bin/env bash
# tools/deps.sh [--check] - make sure the build and test dependencies exist.
#
# Debian 12: missing packages are installed with apt-get when run as root
# (non-interactive, works in CI with no stdin); otherwise the sudo command to
# run is printed and the exit status is 1. --check only reports.
# Other systems (no dpkg-query): the needed commands are checked instead.
# Exit status: 0 everything present (quiet), 1 something missing, 2 usage.
set -euo pipefail

# ovmf and grub-efi-amd64-bin: the UEFI boots (run-qemu.sh --firmware ovmf|ovmf-smm;
# with grub-efi-amd64-bin, grub-mkrescue makes one ISO for BIOS and UEFI).
PACKAGES=(qemu-system-x86 nasm grub-pc-bin grub-efi-amd64-bin ovmf grub-common xorriso mtools
	libcmocka-dev libtap-formatter-junit-perl gdb spin gnuplot-nox clang libclang-rt-dev
	binutils gcc make perl)

check_only=0
case ${1-} in
'') ;;
--check) check_only=1 ;;
-h | --help)
	sed -n '2,9s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*)
	echo "usage: tools/deps.sh [--check]" >&2
	exit 2
	;;
esac
(($# <= 1)) || { echo "usage: tools/deps.sh [--check]" >&2; exit 2; }

# What to look for on a system without dpkg: "package:test" where test is a
# command name, or a path (starting with /) of which one of '|' must exist.
NON_DEBIAN=(
	"qemu-system-x86:qemu-system-x86_64"
	"nasm:nasm"
	"grub-pc-bin:/usr/lib/grub/i386-pc|/usr/share/grub/i386-pc|/usr/lib/grub2/i386-pc|/usr/share/grub2/i386-pc"
	"grub-efi-amd64-bin:/usr/lib/grub/x86_64-efi|/usr/share/grub/x86_64-efi|/usr/lib/grub2/x86_64-efi"
	"ovmf:/usr/share/qemu/firmware|/usr/share/OVMF|/usr/share/edk2"
	"grub-common:grub-mkrescue|grub2-mkrescue"
	"xorriso:xorriso"
	"mtools:mformat"
	"libcmocka-dev:/usr/include/cmocka.h|/usr/local/include/cmocka.h"
	"libtap-formatter-junit-perl:tap2junit"
	"gdb:gdb"
	"spin:spin"
	"gnuplot-nox:gnuplot"
	"clang:clang"
	"binutils:addr2line"
	"gcc:gcc"
	"make:make"
	"perl:prove"
)

if ! command -v dpkg-query >/dev/null; then
	missing=()
	for entry in "${NON_DEBIAN[@]}"; do
		pkg=${entry%%:*} test=${entry#*:} found=0
		IFS='|' read -ra alts <<<"$test"
		for alt in "${alts[@]}"; do
			if [[ $alt == /* ]]; then
				[[ -e $alt ]] && found=1
			else
				command -v "$alt" >/dev/null && found=1
			fi
		done
		((found)) || missing+=("$pkg (${test//|/ or })")
	done
	((${#missing[@]})) || exit 0
	echo "tools/deps.sh: not a Debian system (no dpkg-query); install the equivalents of:" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi

missing_pkgs() {
	local pkg
	for pkg in "${PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] ||
			printf '%s\n' "$pkg"
	done
}

mapfile -t missing < <(missing_pkgs)
((${#missing[@]})) || exit 0

echo "tools/deps.sh: missing packages: ${missing[*]}" >&2
if ((check_only)); then
	exit 1
fi
if (($(id -u) != 0)); then
	echo "tools/deps.sh: not root; install them with:" >&2
	echo "sudo apt-get install -y --no-install-recommends ${missing[*]}"
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update </dev/null
apt-get install -y --no-install-recommends "${missing[@]}" </dev/null

mapfile -t missing < <(missing_pkgs)
if ((${#missing[@]})); then
	echo "tools/deps.sh: still missing after apt-get: ${missing[*]}" >&2
	exit 1
fi
echo "tools/deps.sh: installed the missing packages" >&2
