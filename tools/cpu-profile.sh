#!/usr/bin/env bash
# Where a run's host CPU time goes: one run-qemu.sh run, QEMU's host CPU
# time (user + system, all its threads, from /proc/PID/stat) read at every
# serial line, each interval charged to the test whose result line ends it
# (the firmware and GRUB up to the kernel's banner are "boot"). Prints the
# tests that cost most host CPU, with their wall time and CPU-s per wall s.
#   tools/cpu-profile.sh [-n TOP] [RUN-QEMU OPTIONS ...]
# e.g. tools/cpu-profile.sh --smp 4
# The clock is the kernel's tick of /proc (10 ms); a test shorter than that
# shows as its neighbours'. Measures one run: use farm-bench for totals.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
top=15
if [ "${1:-}" = -n ]; then top=$2; shift 2; fi
exec perl -MTime::HiRes=time -e '
use strict; use warnings;
my ($top, @cmd) = @ARGV;
my $hz = `getconf CLK_TCK` + 0 || 100;
my $t0 = time;
my $pid = open(my $in, "-|", @cmd) or die "cpu-profile: cannot run @cmd\n";
my $qemu;
sub descendants_qemu {                 # the QEMU below run-qemu.sh
    my %kids;
    for my $s (glob "/proc/[0-9]*/stat") {
        open(my $f, "<", $s) or next; my $l = <$f>; close $f; defined $l or next;
        my ($p, $comm, $pp) = $l =~ /^(\d+) \((.*)\) \S+ (\d+)/ or next;
        push @{$kids{$pp}}, [$p, $comm];
    }
    my @q = ($pid);
    while (@q) {
        my $p = shift @q;
        for my $k (@{$kids{$p} || []}) {
            return $k->[0] if $k->[1] =~ /^qemu-system/;
            push @q, $k->[0];
        }
    }
    return undef;
}
sub cpu_s {
    $qemu //= descendants_qemu() or return undef;
    open(my $f, "<", "/proc/$qemu/stat") or return undef;
    my $l = <$f>; close $f;
    $l =~ s/^.*\) //; my @f = split " ", $l;
    return ($f[11] + $f[12]) / $hz;    # utime, stime (fields 14, 15)
}
my (%cpu, %wall, @order);
my ($last_t, $last_c, $cur) = ($t0, 0, "boot");
my $total_c = 0;
my $charge = sub {
    my ($name, $now, $c) = @_;
    return unless defined $c;
    push @order, $name unless exists $cpu{$name};
    $cpu{$name} += $c - $last_c; $wall{$name} += $now - $last_t;
    ($last_t, $last_c) = ($now, $c); $total_c = $c;
};
while (my $line = <$in>) {
    print $line;
    my $now = time; my $c = cpu_s();
    if ($line =~ /^smmsync: bare-metal/) { $charge->("boot", $now, $c); next; }
    if ($line =~ /^(?:not )?ok \d+ - ([\w.]+)/) { $charge->($1, $now, $c); }
}
close $in;
my $rc = $? >> 8;
my $wall = time - $t0;
my @by = sort { $cpu{$b} <=> $cpu{$a} } @order;
printf "# cpu-profile: %s\n", join(" ", @cmd);
printf "# cpu-profile: whole run %.2f host CPU-s in %.2f wall s (%.2f CPU-s per wall s); QEMU %s\n",
    $total_c, $wall, $wall ? $total_c / $wall : 0, $qemu // "not found";
printf "# cpu-profile: %-28s %8s %8s %6s\n", "test (by host CPU)", "CPU s", "wall s", "CPU/s";
for my $n (@by[0 .. ($top < @by ? $top : @by) - 1]) {
    printf "# cpu-profile: %-28s %8.2f %8.2f %6.2f\n", $n, $cpu{$n}, $wall{$n},
        $wall{$n} > 0 ? $cpu{$n} / $wall{$n} : 0;
}
exit $rc;
' "$top" ./run-qemu.sh "$@"
