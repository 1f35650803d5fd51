#!/usr/bin/env bash
# run-qemu.sh - boot the smmsync ISO under QEMU and turn the guest's verdict
# (written to isa-debug-exit) into this script's exit status.
# Run with --help for the options and the exit-status table.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=run-qemu
QEMU=${QEMU:-qemu-system-x86_64}
KVM_DEV=${SMMSYNC_KVM_DEV:-/dev/kvm}   # the KVM device (tests/host/test_run_qemu.sh points it elsewhere)

usage() {
	cat <<EOF
Usage: ./run-qemu.sh [OPTIONS] [-- EXTRA-QEMU-ARGS...]

Boot build/smmsync.iso under QEMU with the serial console on stdout, and exit
with the guest's verdict.

Machine:
  --machine q35|pc        machine type (default q35)
  --smp N                 number of vCPUs (default 4)
  --sockets S --cores C --threads T
                          CPU topology; N = S*C*T unless --smp is given too
                          (missing ones default to 1)
  --maxcpus M             add maxcpus=M to -smp; above the vCPU count, the
                          guest may ask for a CPU (a serial line
                          "# run-qemu: device_add cpu") and gets the lowest
                          free slot hot-added, and may arm a watchdog over
                          a step that can stop the machine for good
                          (tools/serial-agent.pl)
  --accel tcg|kvm|auto    accelerator (default auto: KVM only if /dev/kvm is
                          usable and KVM can run SMM, else TCG; the answer of
                          the KVM probe is cached in build/.kvm-smm)
  --mem SIZE              guest RAM: MiB, or a number with a suffix K, M, G or T
                          as QEMU's -m takes it (96M, 2G; default 512 MiB)
  --smm on|off            -machine smm=on|off (default on)
  --vga TYPE              std|cirrus|vmware|qxl|virtio|none (default std;
                          note: without a VGA device a closed A-segment SMRAM
                          reads differently, so tests must choose)
  --firmware seabios|ovmf|ovmf-smm
                          the firmware that boots GRUB (default seabios: QEMU's
                          own). ovmf: EDK2's OVMF built without SMM (the
                          harness sets SMRAM up itself); ovmf-smm: OVMF with
                          SMM (it owns and locks SMRAM: the guest audits it,
                          q35 only). The images come from QEMU's firmware
                          descriptors (/usr/share/qemu/firmware/*.json, or
                          QEMU_FIRMWARE_DIR); each run gets its own copy of
                          the variable store.
  --iso PATH              ISO to boot (default build/smmsync.iso)
  --elf PATH              kernel ELF for symbolising RIPs (default build/kernel.elf)

Guest:
  --tests GLOBS           run only these tests (kernel arg tests=GLOB[,GLOB])
  --cmdline ARGS          extra kernel arguments (appended; passed through
                          fw_cfg opt/smmsync/cmdline). cpus=N (N = vCPUs) and
                          expect_smm=tseg|aseg|off (what --smm, --machine and
                          smram= imply) are added unless ARGS has them: the
                          guest fails a run where SMM or a CPU is not there.

Run control:
  --timeout SEC           host time limit (default 120; 0 = none). On expiry
                          the vCPU state is dumped (info registers -a plus a
                          per-vCPU summary via addr2line) and QEMU is stopped.
  --gdb                   start halted (-S) with a gdb stub on the unix socket
                          build/gdb.sock; no time limit unless --timeout given
  --gdb-port N            with --gdb: use tcp 127.0.0.1:N instead of the socket
  --log FILE              also save the serial output (and the HANG report) to FILE
  --dry-run               print the QEMU command line and exit 0
  -h, --help              this help

Everything after -- is passed to QEMU verbatim.

Exit status:
  0    pass              (guest wrote 0 to isa-debug-exit; QEMU status 1)
  1    fail              (guest wrote 1; QEMU status 3)
       (0 or 1 also when the host's watchdog ended a silent run: the
       verdict of the TAP it completed; see --maxcpus)
  77   skip              (only skipped tests; guest wrote 38; QEMU status 77)
  3    guest crash/panic (guest wrote 63; QEMU status 127)
  4    no verdict        (QEMU ended without isa-debug-exit: triple fault
                          under -no-reboot, killed, QEMU error, ...)
  124  hung              (time limit exceeded; vCPU state printed)
  2    usage error, bad option value, missing QEMU/ISO, KVM not usable
  130/143                interrupted by SIGINT/SIGTERM

Environment:
  QEMU   QEMU binary to use (default qemu-system-x86_64)
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die_usage() {
	say "$*"
	usage >&2
	exit 2
}
die() {
	say "$*"
	exit 2
}
is_pos() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_uint() { [[ $1 =~ ^(0|[1-9][0-9]*)$ ]]; }
# mem_mib SIZE: prints SIZE in MiB (what -m gets); SIZE is MiB or has a
# suffix K, M, G or T (either case), and must come to a whole number of MiB.
mem_mib() {
	[[ $1 =~ ^([1-9][0-9]{0,9})([kKmMgGtT]?)$ ]] || return 1
	local n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]}
	case $unit in
	k | K) ((n % 1024 == 0)) || return 1; echo $((n / 1024)) ;;
	g | G) echo $((n * 1024)) ;;
	t | T) echo $((n * 1024 * 1024)) ;;
	*) echo "$n" ;;
	esac
}

# ---------------------------------------------------------------- options
machine=q35 smp='' sockets='' cores='' threads='' maxcpus='' accel=auto mem=512
tests='' cmdline='' gdb=0 gdb_port='' timeout='' log='' vga=std smm=on dry_run=0 firmware=seabios
iso=$ROOT/build/smmsync.iso
elf=$ROOT/build/kernel.elf
extra=()
orig_args=("$@")                    # for the one re-run after a stale KVM probe

while (($#)); do
	opt=$1 val='' inline=0
	if [[ $opt == --*=* ]]; then
		val=${opt#*=} opt=${opt%%=*} inline=1
	fi
	case $opt in
	--machine | --smp | --sockets | --cores | --threads | --maxcpus | --accel | \
		--mem | --tests | --cmdline | --gdb-port | --timeout | --log | --vga | \
		--iso | --elf | --smm | --firmware)
		if ((!inline)); then
			(($# >= 2)) || die_usage "option $opt needs a value"
			val=$2
			shift
		fi
		;;
	--gdb | --dry-run | -h | --help)
		((!inline)) || die_usage "option $opt takes no value"
		;;
	--)
		shift
		extra=("$@")
		break
		;;
	*) die_usage "unknown option: $opt" ;;
	esac
	case $opt in
	--machine) [[ $val == q35 || $val == pc ]] || die_usage "--machine: expected q35 or pc, got '$val'"
		machine=$val ;;
	--smp) is_pos "$val" || die_usage "--smp: expected a positive number, got '$val'"; smp=$val ;;
	--sockets) is_pos "$val" || die_usage "--sockets: expected a positive number, got '$val'"; sockets=$val ;;
	--cores) is_pos "$val" || die_usage "--cores: expected a positive number, got '$val'"; cores=$val ;;
	--threads) is_pos "$val" || die_usage "--threads: expected a positive number, got '$val'"; threads=$val ;;
	--maxcpus) is_pos "$val" || die_usage "--maxcpus: expected a positive number, got '$val'"; maxcpus=$val ;;
	--mem) mem=$(mem_mib "$val") ||
		die_usage "--mem: expected a size in MiB or with a suffix K, M, G or T (512, 96M, 2G), a whole number of MiB, got '$val'" ;;
	--timeout) is_uint "$val" || die_usage "--timeout: expected seconds, got '$val'"; timeout=$val ;;
	--gdb-port)
		if ! is_pos "$val" || ((val > 65535)); then die_usage "--gdb-port: expected a TCP port, got '$val'"; fi
		gdb_port=$val ;;
	--accel) [[ $val =~ ^(tcg|kvm|auto)$ ]] || die_usage "--accel: expected tcg, kvm or auto, got '$val'"
		accel=$val ;;
	--smm) [[ $val =~ ^(on|off)$ ]] || die_usage "--smm: expected on or off, got '$val'"; smm=$val ;;
	--vga) [[ $val =~ ^(std|cirrus|vmware|qxl|virtio|none)$ ]] || die_usage "--vga: unknown type '$val'"
		vga=$val ;;
	--tests) [[ -n $val && $val != *[[:space:]]* ]] || die_usage "--tests: expected GLOB[,GLOB...] without spaces"
		tests=$val ;;
	--cmdline) cmdline=$val ;;
	--firmware) [[ $val =~ ^(seabios|ovmf|ovmf-smm)$ ]] || die_usage "--firmware: expected seabios, ovmf or ovmf-smm, got '$val'"
		firmware=$val ;;
	--log) [[ -n $val ]] || die_usage "--log: empty file name"; log=$val ;;
	--iso) iso=$val ;;
	--elf) elf=$val ;;
	--gdb) gdb=1 ;;
	--dry-run) dry_run=1 ;;
	-h | --help) usage; exit 0 ;;
	esac
	shift
done

[[ -z $gdb_port ]] || ((gdb)) || die_usage "--gdb-port needs --gdb"

# ---------------------------------------------------------------- topology
if [[ -n $sockets$cores$threads ]]; then
	: "${sockets:=1}" "${cores:=1}" "${threads:=1}"
	topo=$((sockets * cores * threads))
	ncpus=${smp:-$topo}
	if [[ -n $maxcpus ]]; then
		((topo == maxcpus)) || die_usage "sockets*cores*threads = $topo must equal --maxcpus $maxcpus"
	else
		((topo == ncpus)) || die_usage "sockets*cores*threads = $topo must equal the vCPU count $ncpus (or --maxcpus, if given)"
	fi
	smp_arg="$ncpus,sockets=$sockets,cores=$cores,threads=$threads"
	# The guest checks the topology it detects against this.
	[[ -n $maxcpus ]] || topology_arg="topology=${sockets}x${cores}x${threads}"
else
	ncpus=${smp:-4}
	smp_arg=$ncpus
fi
hotplug=0
if [[ -n $maxcpus ]]; then
	((maxcpus >= ncpus)) || die_usage "--maxcpus $maxcpus is less than the $ncpus vCPUs"
	smp_arg+=",maxcpus=$maxcpus"
	((maxcpus == ncpus)) || hotplug=1
fi

# ---------------------------------------------------------------- temp dir and cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-qemu.XXXXXX")
qemu_pid='' tee_pid='' timer_pid='' gdb_sock=''

# shellcheck disable=SC2317 # called from traps
stop_qemu() {
	# Ask QEMU to stop (SIGTERM), then SIGKILL it after 3 s.
	local i
	[[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null || return 0
	kill -TERM "$qemu_pid" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		kill -0 "$qemu_pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$qemu_pid" 2>/dev/null || true
}
# shellcheck disable=SC2317 # called from traps
cleanup() {
	stop_qemu
	[[ -z $timer_pid ]] || kill "$timer_pid" 2>/dev/null || true
	[[ -z $tee_pid ]] || wait "$tee_pid" 2>/dev/null || true
	[[ -z $gdb_sock ]] || rm -f "$gdb_sock"
	rm -rf "$tmp"
}
# shellcheck disable=SC2317 # called from traps
on_signal() {
	trap - INT TERM HUP
	say "interrupted by SIG$1; stopping QEMU"
	exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# ---------------------------------------------------------------- accelerator
have_qemu=0
qemu_path=$(command -v "$QEMU" 2>/dev/null) && have_qemu=1

# What the probe's answer depends on: the QEMU binary, the host kernel and
# the KVM modules' parameters. The cache holds the answer and this key.
kvm_probe_key() {
	{
		stat -L -c '%n %s %Y' "$qemu_path" 2>/dev/null
		uname -srv
		grep -H . /sys/module/kvm/parameters/* /sys/module/kvm_intel/parameters/* \
			/sys/module/kvm_amd/parameters/* 2>/dev/null || true
	} | cksum | cut -d' ' -f1
}

# Sets kvm_smm (yes|no), kvm_why and kvm_cached (1 if the answer came from
# build/.kvm-smm).
probe_kvm_smm() {
	local cache=$ROOT/build/.kvm-smm st=0 msg key
	kvm_cached=0
	if [[ ! -e $KVM_DEV ]]; then
		kvm_smm=no kvm_why="no $KVM_DEV"
		return
	fi
	if [[ ! -r $KVM_DEV || ! -w $KVM_DEV ]]; then
		kvm_smm=no kvm_why="$KVM_DEV is not readable and writable by $(id -un)"
		return
	fi
	if ((!have_qemu)); then
		kvm_smm=no kvm_why="$QEMU not found"
		return
	fi
	key=$(kvm_probe_key)
	if [[ -f $cache && $(sed -n 2p "$cache") == "key $key" ]]; then
		kvm_smm=$(head -n1 "$cache")
		if [[ $kvm_smm == yes || $kvm_smm == no ]]; then
			kvm_why="$(sed -n 's/^why //p' "$cache") (cached in build/.kvm-smm for this QEMU, host kernel and KVM parameters)"
			kvm_cached=1
			return
		fi
	fi
	timeout -k 2 3 "$qemu_path" -machine q35,smm=on -accel kvm -display none \
		-nodefaults -S -monitor none -serial none \
		</dev/null >/dev/null 2>"$tmp/probe.err" || st=$?
	if ((st == 124)); then
		kvm_smm=yes kvm_why="KVM runs a q35,smm=on machine"
	else
		msg=$(grep -v 'warning:' "$tmp/probe.err" | tail -n1 || true)
		msg=${msg#*qemu-system-x86_64: }
		kvm_smm=no kvm_why="KVM cannot run q35,smm=on: ${msg:-QEMU exited with status $st}"
	fi
	mkdir -p "$ROOT/build"
	if printf '%s\nkey %s\nwhy %s\n' "$kvm_smm" "$key" "$kvm_why" >"$tmp/kvm-smm"; then
		mv -f "$tmp/kvm-smm" "$cache" || true
	fi
}

accel_auto=0
case $accel in
auto)
	accel_auto=1
	probe_kvm_smm
	if [[ $kvm_smm == yes ]]; then
		accel=kvm
		say "accelerator: kvm ($kvm_why)"
	else
		accel=tcg
		say "accelerator: tcg ($kvm_why)"
	fi
	;;
kvm)
	if [[ $smm == on ]]; then
		probe_kvm_smm
		[[ $kvm_smm == yes ]] || die "--accel kvm: KVM cannot be used with SMM here: $kvm_why"
	else
		[[ -r /dev/kvm && -w /dev/kvm ]] || die "--accel kvm: /dev/kvm missing or not accessible"
	fi
	say "accelerator: kvm (requested)"
	;;
tcg) say "accelerator: tcg (requested)" ;;
esac

# ---------------------------------------------------------------- kernel arguments
kargs=()
[[ -z $tests ]] || kargs+=("tests=$tests")
[[ " $cmdline" =~ [[:space:]]cpus= ]] || kargs+=("cpus=$ncpus")
# The accelerator QEMU runs with: the guest does not have to guess it from
# CPUID (Hyper-V enlightenments move KVM's leaf, kvm=off hides it).
[[ " $cmdline" =~ [[:space:]]accel= ]] || kargs+=("accel=$accel")
[[ -z ${topology_arg:-} || " $cmdline" =~ [[:space:]]topology= ]] || kargs+=("$topology_arg")
# The host's CPUs: the guest scales its waits for other vCPUs when they
# outnumber the host's (kernel/config.h, config_host_scale).
[[ " $cmdline" =~ [[:space:]]host_cpus= ]] || kargs+=("host_cpus=$(nproc 2>/dev/null || echo 1)")
# The QEMU version and the firmware: a known deviation can be listed for a
# range of QEMU versions (tests/deviations.cfg), and the TAP header names both.
qemu_version=$("$QEMU" --version 2>/dev/null | sed -n '1s/.*version \([0-9][0-9.]*\).*/\1/p')
[[ -z $qemu_version || " $cmdline" =~ [[:space:]]qemu= ]] || kargs+=("qemu=$qemu_version")
[[ " $cmdline" =~ [[:space:]]firmware= ]] || kargs+=("firmware=$firmware")
# What the guest must find: SMM on, in the region this machine uses, or off.
if [[ ! " $cmdline" =~ [[:space:]]expect_smm= ]]; then
	if [[ $smm == off || " $cmdline " =~ [[:space:]]smm=off[[:space:]] ]]; then
		kargs+=("expect_smm=off")
	elif [[ $firmware == ovmf-smm ]]; then
		kargs+=("expect_smm=firmware")
	elif [[ $machine == pc* || " $cmdline " =~ [[:space:]]smram=aseg[[:space:]] ]]; then
		kargs+=("expect_smm=aseg")
	else
		kargs+=("expect_smm=tseg")
	fi
fi
[[ -z $cmdline ]] || kargs+=("$cmdline")
kernel_args="${kargs[*]}"

# ---------------------------------------------------------------- firmware
# OVMF through QEMU's firmware descriptors (docs/interop/firmware.json, the
# convention libvirt follows): the first, in file-name order, for UEFI on
# x86_64 and this machine type, with (ovmf-smm) or without (ovmf) the
# feature requires-smm, and without enrolled keys (unsigned GRUB boots).
# Prints "CODE VARS-TEMPLATE SECURE(0|1)".
find_firmware() {
	local want_smm=$1 dir=${QEMU_FIRMWARE_DIR:-/usr/share/qemu/firmware}
	perl -MJSON::PP -e '
		my ($want_smm, $mtype, @files) = @ARGV;
		for my $f (sort @files) {
			open(my $h, "<", $f) or next; local $/; my $j = eval { decode_json(<$h>) } or next;
			next unless grep { $_ eq "uefi" } @{$j->{"interface-types"} || []};
			my %feat = map { $_ => 1 } @{$j->{features} || []};
			next if $feat{"enrolled-keys"} || !!$feat{"requires-smm"} != !!$want_smm;
			next unless grep { $_->{architecture} eq "x86_64" &&
			                   grep { my $g = $_; $g =~ s/\*/.*/g; $mtype =~ /^$g$/ } @{$_->{machines}} } @{$j->{targets} || []};
			my $m = $j->{mapping} || {};
			next unless ($m->{device} // "") eq "flash" && $m->{executable} && $m->{"nvram-template"};
			print join(" ", $m->{executable}{filename}, $m->{"nvram-template"}{filename}, $feat{"requires-smm"} ? 1 : 0), "\n";
			exit 0;
		}
		exit 1;
	' "$want_smm" "$2" "$dir"/*.json 2>/dev/null
}
fw_args=()
if [[ $firmware != seabios ]]; then
	if [[ $firmware == ovmf-smm ]]; then
		[[ $machine == q35 && $smm == on ]] || die_usage "--firmware ovmf-smm needs --machine q35 and --smm on (OVMF's SMM runs on q35 only)"
	fi
	mtype=$([[ $machine == q35 ]] && echo pc-q35-7.2 || echo pc-i440fx-7.2)
	fw=$(find_firmware "$([[ $firmware == ovmf-smm ]] && echo 1 || echo 0)" "$mtype") ||
		die "no $firmware firmware for $machine in ${QEMU_FIRMWARE_DIR:-/usr/share/qemu/firmware} (Debian: apt-get install ovmf)"
	read -r fw_code fw_vars fw_secure <<<"$fw"
	[[ -r $fw_code && -r $fw_vars ]] || die "firmware images missing: $fw_code, $fw_vars"
	cp "$fw_vars" "$tmp/vars.fd" || die "cannot copy the variable store $fw_vars"
	fw_args=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$fw_code"
		-drive "if=pflash,format=raw,unit=1,file=$tmp/vars.fd")
	((fw_secure)) && fw_args+=(-global driver=cfi.pflash01,property=secure,value=on)
	say "firmware: $firmware ($fw_code)"
fi

# ---------------------------------------------------------------- QEMU command
((gdb)) && [[ -z $timeout ]] && timeout=0
: "${timeout:=120}"

cmd=("${qemu_path:-$QEMU}"
	-machine "$machine,smm=$smm"
	-accel "$accel"
	-smp "$smp_arg"
	-m "$mem"
	-cdrom "$iso" -boot d
	"${fw_args[@]}"
	-display none -vga "$vga"
	-net none
	-no-reboot
	-serial stdio
	-device 'isa-debug-exit,iobase=0xf4,iosize=0x04'
	-monitor "unix:$tmp/mon.sock,server=on,wait=off"
	-fw_cfg "name=opt/smmsync/cmdline,string=${kernel_args//,/,,}")
if ((gdb)); then
	cmd+=(-S)
	if [[ -n $gdb_port ]]; then
		cmd+=(-gdb "tcp:127.0.0.1:$gdb_port")
		gdb_target="localhost:$gdb_port"
	else
		gdb_sock=$ROOT/build/gdb.sock
		((dry_run)) || { mkdir -p "$ROOT/build" && rm -f "$gdb_sock"; }
		cmd+=(-chardev "socket,path=$gdb_sock,server=on,wait=off,id=gdb0" -gdb chardev:gdb0)
		gdb_target=build/gdb.sock
	fi
fi
cmd+=("${extra[@]}")

quote_cmd() {
	local a out=()
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then
			out+=("$a")
		else
			out+=("${a@Q}")
		fi
	done
	printf '%s\n' "${out[*]}"
}

if ((dry_run)); then
	gdb_sock= # nothing was created
	quote_cmd "${cmd[@]}"
	exit 0
fi

((have_qemu)) || die "$QEMU not found (install it: tools/deps.sh)"
[[ -f $iso ]] || die "ISO not found: $iso (build it with make)"

# note MSG...: to stderr and to the log.
note() {
	say "$*"
	[[ -z $log ]] || printf '%s: %s\n' "$PROG" "$*" >>"$log"
}

# ---------------------------------------------------------------- HANG report
# Perl (always present) talks to the HMP monitor: no socat/nc/python needed.
# Prints 'info registers -a' and a per-vCPU summary, then sends 'quit'.
hang_report() {
	perl -e '
use strict; use warnings; no warnings "portable";
use IO::Socket::UNIX; use IO::Select; use Socket qw(SOCK_STREAM);
my ($path, $elf, $root) = @ARGV;
alarm 60;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
    or die "cannot connect to the QEMU monitor ($path): $!\n";
$s->autoflush(1);
my $sel = IO::Select->new($s);
sub read_until {
    my ($re, $secs) = @_;
    my ($buf, $end) = ("", time + $secs);
    while ($buf !~ $re) {
        my $left = $end - time;
        return undef if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread($s, my $chunk, 65536);
        return $buf unless $n;
        $buf .= $chunk;
    }
    return $buf;
}
defined read_until(qr/\(qemu\) /, 10) or die "no prompt from the QEMU monitor\n";
print $s "info registers -a\n";
my $out = read_until(qr/\n\(qemu\) /, 30);
print $s "quit\n";
die "no answer to info registers -a from the QEMU monitor\n" unless defined $out;
$out =~ s/\e\[[0-9;?]*[A-Za-z]//g;
$out =~ s/\r//g;
my @lines = split /\n/, $out;
shift @lines while @lines && $lines[0] !~ /^CPU#\d+/;
pop @lines while @lines && ($lines[-1] =~ /^\(qemu\)/ || $lines[-1] !~ /\S/);
print "$_\n" for @lines;

my (@cpus, $cur);
for (@lines) {
    if (/^CPU#(\d+)/) { $cur = { n => $1, ip => "?", smm => "?", hlt => "?", cs => "?", base => "0" }; push @cpus, $cur; next }
    next unless $cur;
    if (/^([ER])IP=([0-9a-fA-F]+)\b.*\bSMM=(\d)\s+HLT=(\d)/) {
        @$cur{qw(mode ip smm hlt)} = ($1, $2, $3, $4);
    } elsif (/^CS\s*=([0-9a-fA-F]+)\s+([0-9a-fA-F]+)/) {
        @$cur{qw(cs base)} = ($1, $2);
    }
}
# Kernel address ranges: the LOAD segments of the ELF.
my @ranges;
if (-r $elf && open(my $re, "-|", "readelf", "-lW", $elf)) {
    while (<$re>) {
        push @ranges, [hex $1, hex($1) + hex($2)]
            if /^\s*LOAD\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/;
    }
    close $re;
}
my @want;
for my $c (@cpus) {
    next if $c->{ip} eq "?";
    my $lin = hex $c->{ip};
    $lin = (hex($c->{base}) + $lin) & 0xffffffff if $c->{mode} eq "E";
    $c->{lin} = $lin;
    $c->{inkernel} = grep { $lin >= $_->[0] && $lin < $_->[1] } @ranges;
    push @want, $c if $c->{inkernel};
}
if (@want && open(my $a2l, "-|", "addr2line", "-f", "-e", $elf, map { sprintf "0x%x", $_->{lin} } @want)) {
    my @res = <$a2l>;
    close $a2l;
    chomp @res;
    for my $c (@want) {
        my ($fn, $loc) = splice @res, 0, 2;
        $loc //= "??:0";
        $loc =~ s/ \(discriminator \d+\)//;
        $loc =~ s/^\Q$root\E\///;
        $c->{where} = ($fn // "??") . " ($loc)";
    }
}
print "vCPU summary:\n";
for my $c (@cpus) {
    my $where;
    if ($c->{where}) { $where = $c->{where} . ($c->{smm} eq "1" ? " [SMM]" : "") }
    elsif ($c->{smm} eq "1") { $where = "(SMM)" }
    elsif (!@ranges) { $where = "(not in kernel: no symbols from $elf)" }
    else { $where = "(not in kernel)" }
    my $lin = (defined $c->{lin} && $c->{mode} eq "E" && hex($c->{base}) != 0)
        ? sprintf(" [linear %x]", $c->{lin}) : "";
    printf "cpu %d: RIP=%s CS=%s SMM=%s HLT=%s%s -> %s\n",
        $c->{n}, $c->{ip}, $c->{cs}, $c->{smm}, $c->{hlt}, $lin, $where;
}
' "$tmp/mon.sock" "$elf" "$ROOT"
}

# ---------------------------------------------------------------- run
[[ -z $log ]] || { mkdir -p "$(dirname "$log")" && : >"$log"; }
if ((hotplug)); then
	# Room for CPUs: the serial output goes through the agent, which
	# hot-adds a CPU when the guest asks (tools/serial-agent.pl).
	mkfifo "$tmp/serial"
	perl "$ROOT/tools/serial-agent.pl" "$tmp/mon.sock" "$tmp/agent.verdict" "$log" <"$tmp/serial" &
	tee_pid=$!
	"${cmd[@]}" </dev/null >"$tmp/serial" 2>"$tmp/qemu.err" &
	qemu_pid=$!
elif [[ -n $log ]]; then
	mkfifo "$tmp/serial"
	tee -a "$log" <"$tmp/serial" &
	tee_pid=$!
	"${cmd[@]}" </dev/null >"$tmp/serial" 2>"$tmp/qemu.err" &
	qemu_pid=$!
else
	"${cmd[@]}" </dev/null 2>"$tmp/qemu.err" &
	qemu_pid=$!
fi

if ((gdb)); then
	say "QEMU is halted (-S) waiting for gdb; from $ROOT attach with:"
	say "    gdb -x tools/gdbinit -ex 'target remote $gdb_target'"
fi

st=0 hung=0
if ((timeout > 0)); then
	sleep "$timeout" &
	timer_pid=$!
	if ((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))); then
		done_pid=
		wait -n -p done_pid "$qemu_pid" "$timer_pid" || true
		[[ ${done_pid:-} == "$timer_pid" ]] && hung=1
	else
		while kill -0 "$qemu_pid" 2>/dev/null; do
			kill -0 "$timer_pid" 2>/dev/null || {
				hung=1
				break
			}
			sleep 0.2
		done
	fi
	if ((hung)) && ! kill -0 "$qemu_pid" 2>/dev/null; then
		hung=0 # QEMU ended at the same moment
	fi
	kill "$timer_pid" 2>/dev/null || true
	wait "$timer_pid" 2>/dev/null || true
	timer_pid=
fi

if ((hung)); then
	note "HANG: run exceeded $timeout s; vCPU state follows"
	hang_report >"$tmp/hang.txt" 2>&1 || true
	cat "$tmp/hang.txt" >&2
	[[ -z $log ]] || cat "$tmp/hang.txt" >>"$log"
	for ((i = 0; i < 30; i++)); do
		kill -0 "$qemu_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$qemu_pid" 2>/dev/null || true
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
	[[ -z $tee_pid ]] || wait "$tee_pid" || true
	tee_pid=
	note "verdict: hung (time limit $timeout s)"
	exit 124
fi

wait "$qemu_pid" || st=$?
qemu_pid=
[[ -z $tee_pid ]] || wait "$tee_pid" || true
tee_pid=

# QEMU's own messages: show them, keep them in the log.
if [[ -s $tmp/qemu.err ]]; then
	cat "$tmp/qemu.err" >&2
	[[ -z $log ]] || cat "$tmp/qemu.err" >>"$log"
fi
# QEMU exits 1 both for a guest pass and for its own errors: an error line
# (not a warning) on its stderr means there was no verdict.
qemu_error=0
grep -v 'warning:' "$tmp/qemu.err" | grep -q '^qemu-system[^ ]*: ' && qemu_error=1

# KVM picked from a cached probe, and QEMU refused it: the cache was stale
# (a host change its key does not see). Probe again and run once more.
if ((qemu_error && accel_auto && kvm_cached)) && [[ $accel == kvm && -z ${SMMSYNC_REPROBED:-} ]] &&
	grep -qiE 'kvm|System Management Mode' "$tmp/qemu.err"; then
	note "QEMU refused KVM that the cached probe allowed; probing again"
	rm -f "$ROOT/build/.kvm-smm"
	trap - EXIT
	cleanup
	SMMSYNC_REPROBED=1 exec "$0" "${orig_args[@]}"
fi

# The guest's watchdog (tools/serial-agent.pl) ended a run the guest could
# not: its verdict is the one the agent completed the guest's TAP with.
if [[ -s $tmp/agent.verdict ]]; then
	read -r wd_verdict wd_secs <"$tmp/agent.verdict"
	note "verdict: $wd_verdict (the guest's watchdog ended the run after $wd_secs s of silence)"
	[[ $wd_verdict == pass ]] && exit 0
	exit 1
fi

case $st in
1)
	if ((qemu_error)); then
		note "verdict: none (QEMU reported an error, status 1)"
		exit 4
	fi
	note "verdict: pass (QEMU status 1)"
	exit 0
	;;
3) note "verdict: fail (QEMU status 3)"; exit 1 ;;
77) note "verdict: skip (QEMU status 77)"; exit 77 ;;
127) note "verdict: crash (guest panic/abort, QEMU status 127)"; exit 3 ;;
*)
	note "verdict: none (QEMU status $st: ended without isa-debug-exit, e.g. triple fault or killed)"
	exit 4
	;;
esac
