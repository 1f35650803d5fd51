#!/usr/bin/perl
# serial-agent.pl MONITOR-SOCKET VERDICT-FILE [LOG]: run-qemu.sh's side of the guest's
# requests to the host. Copies the guest's serial output from stdin to
# stdout (and appends it to LOG), unchanged; a whole line
#     # run-qemu: device_add cpu
# from the guest hot-adds the lowest free CPU slot through QEMU's human
# monitor (info hotpluggable-cpus, then device_add) and says what it did on
# stderr and in LOG. The guest sees the CPU through QEMU's ACPI CPU hotplug
# registers.
#     # run-qemu: watchdog SECS DEVIATION SMM-CPUS OTHER-CPUS NAME: TEXT
# arms a watchdog over the guest's next step, which may stop the machine
# for good (an SMI the firmware never returns from): the next output from
# the guest disarms it. After SECS seconds of silence the agent ends the
# run itself, with the evidence the host has (each vCPU's SMM and HLT state
# and CS:IP, from the monitor): a TAP result "NAME: TEXT" that is the known
# deviation DEVIATION (TAP TODO) if the guest named one ("-": none), every
# vCPU in SMM-CPUS (e.g. 0-1,3) is in SMM and every one in OTHER-CPUS is
# not ("-": none; vCPUs are QEMU's CPU#n), and a failure otherwise; then
# the plan and totals, the verdict in VERDICT-FILE (pass or fail), and QEMU
# is told to quit. Anything else the guest writes is only copied.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(time);

my ($mon_path, $verdict_path, $log_path) = @ARGV;
die "usage: serial-agent.pl MONITOR-SOCKET VERDICT-FILE [LOG]\n" unless defined $verdict_path;
my $log;
if (defined $log_path && $log_path ne '') {
    open($log, '>>', $log_path) or die "serial-agent: cannot append to $log_path: $!\n";
    $log->autoflush(1);
}
my $added = 0;

sub note {
    my $msg = "run-qemu: $_[0]\n";
    print STDERR $msg;
    print $log $msg if $log;
}

# One HMP command; returns its output (without the prompt), or undef and
# the reason in $@.
sub monitor {
    my @cmds = @_;
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $mon_path)
        or do { $@ = "cannot connect to the QEMU monitor: $!"; return undef };
    my $sel = IO::Select->new($s);
    my $read = sub {
        my ($buf, $end) = ('', time + 10);
        while ($buf !~ /\(qemu\) $/) {
            my $left = $end - time;
            return undef if $left <= 0 || !$sel->can_read($left);
            sysread($s, my $chunk, 65536) or return undef;
            $buf .= $chunk;
        }
        $buf =~ s/\e\[[0-9;?]*[A-Za-z]//g;
        $buf =~ s/\r//g;
        return $buf;
    };
    defined $read->() or do { $@ = 'no prompt from the QEMU monitor'; return undef };
    my @out;
    for my $c (@cmds) {
        syswrite($s, "$c\n");
        my $o = $read->();
        defined $o or do { $@ = "no answer to '$c' from the QEMU monitor"; return undef };
        $o =~ s/\(qemu\) $//;
        $o =~ s/^.*\n//;      # the echoed command line
        push @out, $o;
    }
    close $s;
    return wantarray ? @out : $out[0];
}

sub device_add_cpu {
    my $list = monitor('info hotpluggable-cpus');
    return "device_add cpu: $@" unless defined $list;
    my (@free, $cur);
    for (split /\n/, $list) {
        if (/^\s*type: "([^"]+)"/) { $cur = { type => $1, props => {} }; push @free, $cur; }
        elsif ($cur && /^\s*qom_path:/) { $cur->{used} = 1; }
        elsif ($cur && /^\s*([a-z-]+-id): "(\d+)"/) { $cur->{props}{$1} = $2; }
    }
    my @order = qw(socket-id die-id cluster-id core-id thread-id);
    @free = sort {
        my $r = 0;
        for my $k (@order) { $r ||= ($a->{props}{$k} // 0) <=> ($b->{props}{$k} // 0); }
        $r;
    } grep { !$_->{used} } @free;
    return 'device_add cpu: no free CPU slot (all of --maxcpus are plugged)' unless @free;
    my $c = $free[0];
    $added++;
    my $cmd = "device_add $c->{type},id=hotadd$added," .
        join(',', map { "$_=$c->{props}{$_}" } grep { exists $c->{props}{$_} } @order);
    my $out = monitor($cmd);
    return "$cmd: $@" unless defined $out;
    $out =~ s/\s+$//;
    return $out eq '' ? "the guest asked for a CPU: $cmd" : "$cmd: $out";
}

# The guest's results so far, to complete its TAP if the watchdog ends the run.
my %tally = (pass => 0, fail => 0, xfail => 0, xpass => 0, skip => 0, timeout => 0);
my $last_point = 0;
sub count_result {
    my ($l) = @_;
    return unless $l =~ /^(not )?ok\s+(\d+)?\s*(?:-\s*)?(.*)$/;
    my ($not, $num, $rest) = ($1, $2, $3);
    $last_point = defined $num ? $num : $last_point + 1;
    if ($rest =~ /#\s*SKIP/i) { $tally{skip}++ }
    elsif ($rest =~ /#\s*TODO/i) { $tally{xfail}++ }
    elsif ($not && $rest =~ /deviation no longer observed/) { $tally{xpass}++ }
    elsif ($not) { $tally{fail}++ }
    else { $tally{pass}++ }
}

sub cpus_of {
    my %set;
    for (split /,/, $_[0]) {
        if (/^(\d+)-(\d+)$/) { $set{$_} = 1 for $1 .. $2 }
        elsif (/^(\d+)$/) { $set{$1} = 1 }
    }
    return \%set;
}

sub out { print $_[0]; print $log $_[0] if $log; }

sub fire {
    my ($wd) = @_;
    my $regs = monitor('info registers -a');
    my (@cpus, $cur);
    for (split /\n/, $regs // '') {
        if (/^CPU#(\d+)/) { $cur = { n => $1 }; push @cpus, $cur; }
        elsif ($cur && /^[ER]IP=([0-9a-fA-F]+)\b.*\bSMM=(\d)\s+HLT=(\d)/) { @$cur{qw(ip smm hlt)} = ($1, $2, $3); }
        elsif ($cur && /^CS\s*=([0-9a-fA-F]+)/) { $cur->{cs} = $1; }
    }
    my $state = @cpus ? join(', ', map {
        sprintf 'cpu%d SMM=%s HLT=%s CS:IP=%s:%s', $_->{n}, $_->{smm} // '?', $_->{hlt} // '?',
            $_->{cs} // '?', $_->{ip} // '?' } @cpus) : "unknown (monitor: $@)";
    my $smm_is = sub {
        my ($n, $v) = @_;
        return grep { $_->{n} == $n && ($_->{smm} // '') eq $v } @cpus;
    };
    my @not_in = grep { !$smm_is->($_, '1') } sort { $a <=> $b } keys %{ cpus_of($wd->{smm}) };
    my @in = grep { !$smm_is->($_, '0') } sort { $a <=> $b } keys %{ cpus_of($wd->{other}) };
    my $why = sprintf 'no serial output for %g s; vCPUs (QEMU monitor): %s', $wd->{secs}, $state;
    my $known = $wd->{dev} ne '-' && !@not_in && !@in;
    my $point = $last_point + 1;
    out("# run-qemu: watchdog: $why\n");
    if ($known) {
        out("not ok $point - $wd->{name}: $wd->{text} # TODO known-deviation $wd->{dev}: $why\n");
        $tally{xfail}++;
    } else {
        my $miss = join('', map { " ($_)" } grep { $_ }
            (@not_in ? sprintf('cpu %s not in SMM', join(',', @not_in)) : ''),
            (@in ? sprintf('cpu %s in SMM', join(',', @in)) : ''),
            ($wd->{dev} eq '-' ? 'no known deviation named' : ''));
        out("not ok $point - $wd->{name}: $wd->{text}: $why$miss\n");
        $tally{fail}++;
    }
    out("1..$point\n");
    out(sprintf "# Totals: pass:%d fail:%d xfail:%d xpass:%d skip:%d timeout:%d (completed by run-qemu's watchdog)\n",
        @tally{qw(pass fail xfail xpass skip timeout)});
    my $verdict = ($tally{fail} || $tally{xpass}) ? 'fail' : 'pass';
    if (open(my $v, '>', $verdict_path)) { print $v "$verdict $wd->{secs}\n"; close $v; }
    note("watchdog: the guest was silent for $wd->{secs} s after it armed it; ending the run ($verdict)");
    monitor('quit');
}

$| = 1;
my $line = '';
my $in = IO::Select->new(\*STDIN);
my ($wd, $wd_end);
while (1) {
    if ($wd) {
        my $left = $wd_end - time;
        if ($left <= 0 || !$in->can_read($left)) {
            fire($wd);
            $wd = undef;
            next;
        }
    }
    my $n = sysread(STDIN, my $buf, 65536);
    last unless $n;
    out($buf);
    $line .= $buf;
    while ($line =~ s/^([^\n]*)\n//) {
        (my $l = $1) =~ s/\r$//;
        undef $wd;                    # the guest is alive
        count_result($l);
        if ($l eq '# run-qemu: device_add cpu') {
            note(device_add_cpu());
        } elsif ($l =~ /^# run-qemu: watchdog (\d+) (\S+) ([\d,-]+) ([\d,-]+) ([^:]+): (.*)$/) {
            $wd = { secs => $1, dev => $2, smm => $3, other => $4, name => $5, text => $6 };
            $wd_end = time + $1;
        }
    }
    $wd = undef if $line ne '';
}
