#!/usr/bin/env bash
# Runs the benchmark configurations, collects the guest's "# BENCH {json}"
# lines into build/bench/results.json and draws the plots with gnuplot.
#   tools/bench.sh            full run (several minutes under TCG)
#   tools/bench.sh --big      the full run, then 128 and 255 CPUs (make bench-big)
#   tools/bench.sh --smoke    a few iterations; checks the lines are well-formed
#   tools/bench.sh --plot     redraw the plots from build/bench/results.json
# Environment: BENCH_N (iterations, default 200), RUN_QEMU (default ./run-qemu.sh),
# BENCH_ONLY (an extended regular expression: only the configurations it matches).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=build/bench
run=${RUN_QEMU:-./run-qemu.sh}
mode=${1:-full}
mkdir -p "$out"

# name | run-qemu options | kernel arguments [| iterations, when fewer than BENCH_N:
# past 8 CPUs each event takes the host's scheduler a round over every vCPU]
full_configs=(
  "rdv-smp1|--smp 1|bench=rdv"
  "rdv-smp2|--smp 2|bench=rdv"
  "rdv-smp4|--smp 4|bench=rdv,smi,backend"
  "rdv-smp8|--smp 8|bench=rdv"
  "rdv-smp16|--smp 16|bench=rdv|50"
  "rdv-smp32|--smp 32|bench=rdv|50"
  "rdv-smp64|--smp 64|bench=rdv|30"
  "rdv-smp4-line|--smp 4|bench=rdv synch_stride=64"
  # EDK2's own rendezvous beside ours (OVMF with SMM, audit mode: bench.fw)
  "fw-smp1|--smp 1 --firmware ovmf-smm|bench=fw|30"
  "fw-smp2|--smp 2 --firmware ovmf-smm|bench=fw|30"
  "fw-smp4|--smp 4 --firmware ovmf-smm|bench=fw|30"
)
# make bench-big: the same sweep past 64 CPUs (one event costs the host a
# round over every vCPU: a few iterations only).
big_configs=(
  "rdv-smp128|--smp 128|bench=rdv|10"
  "rdv-smp255|--smp 255|bench=rdv|5"
)
smoke_configs=("smoke|--smp 2|bench=rdv,smi,backend")

collect() {  # name opts args n
  local name=$1 opts=$2 args=$3 n=$4 rc=0
  # shellcheck disable=SC2086
  "$run" $opts --timeout 900 --cmdline "$args bench_n=$n" --log "$out/$name.log" >/dev/null 2>&1 || rc=$?
  grep '^# BENCH ' "$out/$name.log" | sed 's/^# BENCH //; s/\r$//' | \
    BENCH_CONFIG="$name" perl -MJSON::PP -ne 'chomp; my $r = decode_json($_); $r->{config} = $ENV{BENCH_CONFIG}; print encode_json($r), "\n";' \
    >> "$out/results.jsonl" || true
  echo "bench: $name: $(grep -c '^# BENCH ' "$out/$name.log" || true) result lines (run-qemu status $rc)"
  return "$rc"
}

validate() {
  perl -MJSON::PP -e '
    my ($ok, $bad) = (0, 0);
    my @all;
    open(my $f, "<", $ARGV[0]) or die "no results: $!";
    while (<$f>) {
      my $r = eval { decode_json($_) };
      my @need = qw(bench case n median_ns p10_ns p90_ns p99_ns max_ns cpus topology machine accel backend policy);
      if ($r && !grep { !defined $r->{$_} } @need and $r->{n} > 0 and
          $r->{p10_ns} <= $r->{median_ns} and $r->{median_ns} <= $r->{p90_ns} and
          $r->{p90_ns} <= $r->{p99_ns} and $r->{p99_ns} <= $r->{max_ns}) { $ok++; push @all, $r }
      else { $bad++; print STDERR "bench: malformed line: $_" }
    }
    open(my $o, ">", $ARGV[1]) or die;
    print $o JSON::PP->new->canonical->pretty->encode(\@all);
    print "bench: $ok well-formed result lines, $bad malformed\n";
    print "$ok passed, $bad failed\n";
    exit($bad || !$ok ? 1 : 0);
  ' "$out/results.jsonl" "$out/results.json"
}

plot() {
  command -v gnuplot >/dev/null || { echo "bench: gnuplot not installed: no plots"; return 0; }
  rm -f "$out"/*.dat            # a series this run has not measured must not come from an older one
  perl -MJSON::PP -e '
    local $/; open(my $f, "<", "$ARGV[0]/results.json") or die; my $rs = decode_json(<$f>);
    my %f;
    for my $r (@$rs) {
      my $us = $r->{median_ns} / 1000;
      if ($r->{bench} eq "rendezvous" and $r->{inactive} == 0 and ($r->{synch_stride} == 1 or $r->{policy} eq "edk2")) {
        push @{$f{"cpus_$r->{policy}"}}, "$r->{cpus} $us " . $r->{p10_ns}/1000 . " " . $r->{p90_ns}/1000;
      }
      if ($r->{bench} eq "rendezvous" and ($r->{config} eq "rdv-smp4" or $r->{config} eq "fw-smp4")) {
        push @{$f{"inactive_$r->{policy}"}}, "$r->{inactive} $us " . $r->{p10_ns}/1000 . " " . $r->{p90_ns}/1000;
      }
      if ($r->{bench} eq "rendezvous" and $r->{config} eq "rdv-smp64") {
        push @{$f{"inactive64_$r->{policy}"}}, "$r->{inactive} $us " . $r->{p10_ns}/1000 . " " . $r->{p90_ns}/1000;
      }
      if ($r->{bench} eq "smi-roundtrip") {
        push @{$f{"roundtrip"}}, join(" ", "\"$r->{case}\"", map { $r->{$_}/1000 } qw(p10_ns median_ns p90_ns p99_ns max_ns));
      }
    }
    for my $k (keys %f) {
      open(my $o, ">", "$ARGV[0]/$k.dat") or die;
      print $o "$_\n" for sort { (split / /, $a)[0] <=> (split / /, $b)[0] } @{$f{$k}};
    }' "$out"
  for term in "svg size 800,500" "pngcairo size 800,500"; do
    ext=${term%% *}; ext=${ext/pngcairo/png}
    plot64=''                  # only when the run had 64 vCPUs (BENCH_ONLY may leave it out)
    [[ -e $out/inactive64_pullin.dat ]] && plot64="set output \"$out/latency-vs-inactive-64.$ext\"
set title \"Rendezvous latency vs inactive CPUs (N = 64)\"
plot for [p in \"pullin patent waitall\"] \"$out/inactive64_\".p.\".dat\" using 1:2:3:4 with yerrorlines title p"
    gnuplot <<GP || echo "bench: gnuplot failed for $ext"
set terminal $term
set grid
set logscale y
set ylabel "rendezvous latency, median (us)"
set key top left
set output "$out/latency-vs-cpus.$ext"
set title "Rendezvous latency vs CPU count (all CPUs active, TCG)"
set xlabel "CPUs"
plot for [p in "pullin patent waitall edk2"] "$out/cpus_".p.".dat" using 1:2:3:4 with yerrorlines title p
set output "$out/latency-vs-inactive.$ext"
set title "Rendezvous latency vs inactive CPUs (N = 4): synchbyte policies vs waitall vs EDK2"
set xlabel "inactive CPUs (HLT-parked)"
plot for [p in "pullin patent waitall edk2"] "$out/inactive_".p.".dat" using 1:2:3:4 with yerrorlines title p
$plot64
set output "$out/roundtrip.$ext"
set title "SMI round trip per source (p10 / median / p90, whiskers to p99)"
set xlabel ""
set ylabel "round trip (us)"
set style fill empty
set boxwidth 0.4
unset key
set offsets 0.5, 0.5, 0, 0
# columns: name p10 median p90 p99 max -> box p10..p90, whiskers p10..p99, median line
plot "$out/roundtrip.dat" using 0:2:2:5:4:xticlabels(1) with candlesticks whiskerbars, \
     "" using 0:3:3:3:3 with candlesticks lw 2
GP
  done
  echo "bench: plots in $out/*.svg and *.png"
}

case "$mode" in
  --plot) plot; exit 0 ;;
  --smoke) configs=("${smoke_configs[@]}"); n=${BENCH_N:-5} ;;
  full) configs=("${full_configs[@]}"); n=${BENCH_N:-200} ;;
  --big) configs=("${full_configs[@]}" "${big_configs[@]}"); n=${BENCH_N:-200} ;;
  *) echo "usage: $0 [--smoke|--big|--plot]" >&2; exit 2 ;;
esac
: > "$out/results.jsonl"
status=0
for c in "${configs[@]}"; do
  IFS='|' read -r name opts args cap <<<"$c"
  [[ -z ${BENCH_ONLY:-} || $name =~ ^($BENCH_ONLY)$ ]] || continue
  cn=$n
  [[ -z ${cap:-} || $cap -ge $n ]] || cn=$cap
  collect "$name" "$opts" "$args" "$cn" || status=1
done
validate || status=1
[ "$mode" = --smoke ] || plot
exit "$status"
