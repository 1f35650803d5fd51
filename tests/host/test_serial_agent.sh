#!/usr/bin/env bash
# tests/host/test_serial_agent.sh - run-qemu.sh's serial agent
# (tools/serial-agent.pl) against a fake QEMU monitor: it copies the serial
# output unchanged, hot-adds the lowest free CPU slot when the guest asks,
# and its watchdog ends a silent run with the right verdict: a known
# deviation only when the guest named one and the vCPUs are where the guest
# said they would be. Prints TAP; exit 1 on a failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-agent.XXXXXX")
mon_pid=''
trap '[[ -z $mon_pid ]] || kill "$mon_pid" 2>/dev/null; rm -rf "$work"' EXIT

# The fake monitor: HMP's prompt, canned answers, every command logged.
# SMM states of CPU#0..2 come from $work/smm (e.g. "1 1 0").
cat >"$work/mon.pl" <<'PERL'
use strict; use warnings; use IO::Socket::UNIX; use Socket qw(SOCK_STREAM SOMAXCONN);
my ($path, $dir) = @ARGV;
my $srv = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $path, Listen => SOMAXCONN) or die "listen: $!";
open(my $ready, '>', "$dir/ready"); close $ready;
while (my $c = $srv->accept) {
    $c->autoflush(1);
    print $c "QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ";
    while (my $cmd = <$c>) {
        $cmd =~ s/\r?\n$//;
        open(my $log, '>>', "$dir/mon.log"); print $log "$cmd\n"; close $log;
        my $out = '';
        if ($cmd eq 'info hotpluggable-cpus') {
            for my $core (3, 2, 1, 0) {
                $out .= "  type: \"qemu64-x86_64-cpu\"\r\n  vcpus_count: \"1\"\r\n";
                $out .= "  qom_path: \"/machine/unattached/device[$core]\"\r\n" if $core < 2;
                $out .= "  CPUInstance Properties:\r\n    socket-id: \"0\"\r\n    core-id: \"$core\"\r\n    thread-id: \"0\"\r\n";
            }
        } elsif ($cmd eq 'info registers -a') {
            open(my $f, '<', "$dir/smm"); my @smm = split ' ', <$f>; close $f;
            for my $i (0 .. $#smm) {
                $out .= "\r\nCPU#$i\r\nRAX=0000000000000000\r\nRIP=0000000000001000 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=$smm[$i] HLT=0\r\n";
                $out .= "CS =0038 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA]\r\n";
            }
        }
        print $c "$cmd\r\n$out(qemu) ";
        last if $cmd eq 'quit';
    }
    close $c;
}
PERL
perl "$work/mon.pl" "$work/mon.sock" "$work" &
mon_pid=$!
for ((i = 0; i < 50; i++)); do [[ -e $work/ready ]] && break; sleep 0.1; done

CHECK_SHOW="$work/out $work/err $work/mon.log"
# shellcheck source=tests/host/check.sh
source "$HERE/tests/host/check.sh"
# agent SMM-STATES: the agent on stdin, its output in out/err/verdict.
agent() {
	echo "$1" >"$work/smm"
	: >"$work/mon.log"
	rm -f "$work/verdict"
	perl "$HERE/tools/serial-agent.pl" "$work/mon.sock" "$work/verdict" "$work/log" >"$work/out" 2>"$work/err"
}
has() { grep -qF -- "$1" "$work/${2:-out}"; }

# 1. The serial output is copied unchanged, to stdout and to the log.
printf 'TAP version 13\r\nok 1 - a\npartial' | agent "1"
check "the output is copied unchanged" cmp -s "$work/out" <(printf 'TAP version 13\r\nok 1 - a\npartial')
check "and appended to the log" cmp -s "$work/log" "$work/out"
rm -f "$work/log"

# 2. device_add: the lowest free slot (core 2: cores 0 and 1 are plugged, 3 is higher).
printf '# run-qemu: device_add cpu\n' | agent "1"
check "a CPU request hot-adds the lowest free slot" \
	grep -qx 'device_add qemu64-x86_64-cpu,id=hotadd1,socket-id=0,core-id=2,thread-id=0' "$work/mon.log"
check "and says so" has "the guest asked for a CPU: device_add" err

# 3. Output after the watchdog is armed disarms it.
{ printf '# run-qemu: watchdog 1 dev-x 0-1 2 t.x: a step\n'; sleep 0.3; printf 'ok 5 - t.x: done\n'; sleep 1.5; } | agent "1 1 0"
check "output within the time disarms the watchdog: no verdict, no quit" \
	bash -c '[ ! -e "$0/verdict" ] && ! grep -q quit "$0/mon.log"' "$work"

# 4. Silence with the vCPUs where the guest said: the known deviation, pass.
{ printf 'ok 4 - t.x: before\n# run-qemu: watchdog 1 dev-x 0-1 2 t.x: a step\n'; sleep 1.4; } | agent "1 1 0"
check "silence, CPUs 0-1 in SMM and 2 not: the known deviation as a TODO result" \
	has "not ok 5 - t.x: a step # TODO known-deviation dev-x: no serial output for 1 s"
check "the plan and the totals follow" bash -c 'grep -qx "1\.\.5" "$0" && grep -q "^# Totals: pass:1 fail:0 xfail:1 " "$0"' "$work/out"
check "verdict pass, and QEMU is told to quit" bash -c 'grep -q "^pass 1" "$0/verdict" && grep -qx quit "$0/mon.log"' "$work"

# 5. A CPU that should be in SMM is not: a failure that says so.
{ printf '# run-qemu: watchdog 1 dev-x 0-1 2 t.x: a step\n'; sleep 1.4; } | agent "1 0 0"
check "cpu1 not in SMM: a failure naming it, not the known deviation" \
	bash -c 'grep -q "^not ok 1 - t.x: a step: .*(cpu 1 not in SMM)$" "$0/out" && ! grep -q TODO "$0/out" && grep -q "^fail" "$0/verdict"' "$work"

# 6. A CPU that should be outside SMM is in it.
{ printf '# run-qemu: watchdog 1 dev-x 0-1 2 t.x: a step\n'; sleep 1.4; } | agent "1 1 1"
check "cpu2 in SMM: a failure naming it" has "(cpu 2 in SMM)"

# 7. No known deviation named: silence is a failure.
{ printf '# run-qemu: watchdog 1 - 0-1 2 t.x: a step\n'; sleep 1.4; } | agent "1 1 0"
check "no deviation named: a failure" \
	bash -c 'grep -q "(no known deviation named)" "$0/out" && grep -q "^fail" "$0/verdict"' "$work"

# 8. An earlier failure keeps the verdict fail.
{ printf 'not ok 3 - t.y: broken\n# run-qemu: watchdog 1 dev-x 0-1 2 t.x: a step\n'; sleep 1.4; } | agent "1 1 0"
check "an earlier failure: verdict fail although the hang is known" grep -q "^fail" "$work/verdict"

echo "1..$n"
((failed == 0))
