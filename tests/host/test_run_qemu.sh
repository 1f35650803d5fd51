#!/usr/bin/env bash
# tests/host/test_run_qemu.sh - run-qemu.sh's KVM probe and its cache, with
# a stub QEMU (no KVM needed): the cache is keyed on the QEMU binary, the
# host kernel and the KVM parameters; a cached "yes" that QEMU then refuses
# is probed again and the run falls back to TCG. Then its --mem sizes.
# Prints TAP; exit 1 on a failure.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-rq.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/build"
cp "$HERE/run-qemu.sh" "$work/"
: >"$work/build/smmsync.iso"
: >"$work/kvm"                               # stands in for /dev/kvm
export SMMSYNC_KVM_DEV=$work/kvm STUB_LOG=$work/stub.log STUB_STATE=$work/probes
cat >"$work/qemu" <<'EOF'
#!/usr/bin/env bash
# Stub QEMU. The probe (-monitor none): answers "yes" (keeps running) for the
# first $STUB_YES probes, then refuses. A run with -accel kvm is refused; a
# TCG run prints a passing TAP stream and exits as isa-debug-exit(0) does.
# --version answers as QEMU does (not logged: it is no run).
[[ $* == --version ]] && { echo "QEMU emulator version ${STUB_VERSION:-7.2.0} (stub)"; exit 0; }
echo "$*" >>"$STUB_LOG"
refuse() { echo "qemu-system-x86_64: -accel kvm: System Management Mode not supported by this hypervisor" >&2; exit 1; }
if [[ " $* " == *" -monitor none "* ]]; then
	n=$(($(cat "$STUB_STATE" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$STUB_STATE"
	((n <= ${STUB_YES:-0})) && exec sleep 10
	refuse
fi
[[ " $* " == *" -accel kvm "* ]] && refuse
printf 'TAP version 13\nok 1 - stub\n1..1\n# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 timeout:0\n'
exit 1
EOF
chmod +x "$work/qemu"
export QEMU=$work/qemu

CHECK_SHOW="$work/out $STUB_LOG"
# shellcheck source=tests/host/check.sh
source "$HERE/tests/host/check.sh"
run() { : >"$STUB_LOG"; "$work/run-qemu.sh" --timeout 20 "$@" >"$work/out" 2>&1; }
probes() { grep -c -- '-monitor none' "$STUB_LOG"; }

# 1. No cache: the probe runs and its answer is kept with its key.
rm -f "$work/build/.kvm-smm" "$STUB_STATE"
STUB_YES=0 run --dry-run
check "no cache: probed once, TCG" [ "$(probes)" = 1 ]
check "the answer is cached with its key" grep -q '^key [0-9]' "$work/build/.kvm-smm"

# 2. The same host: the cached answer is used, no probe.
STUB_YES=0 run --dry-run
check "same QEMU, kernel and KVM parameters: the cache answers" [ "$(probes)" = 0 ]

# 3. A cache written for another host (another key): probed again.
printf 'yes\nkey 1\n' >"$work/build/.kvm-smm"
STUB_YES=0 run --dry-run
check "a cache with another key is not trusted: probed again, TCG" \
	bash -c '[ "$(grep -c -- "-monitor none" "$STUB_LOG")" = 1 ] && grep -q "accelerator: tcg" "$0"' "$work/out"

# 4. A cached "yes" that QEMU refuses: probe again, run on TCG, pass.
rm -f "$work/build/.kvm-smm" "$STUB_STATE"
STUB_YES=1 run --dry-run                     # caches "yes" (the stub's first probe)
check "a probe that keeps running caches yes" grep -q '^yes' "$work/build/.kvm-smm"
st=0
STUB_YES=1 run || st=$?
check "QEMU refused the cached KVM: probed again, ran on TCG, verdict pass (status $st)" \
	bash -c '[ "$0" = 0 ] && grep -q "probing again" "$1" && grep -q -- "-accel tcg" "$STUB_LOG"' "$st" "$work/out"
check "the new answer (no) replaced the stale one" grep -q '^no' "$work/build/.kvm-smm"

# 5. --mem takes what QEMU's -m takes: MiB, or a suffix K, M, G, T.
mem_of() { grep -o -- "-m [0-9]*" "$work/out"; }
run --dry-run --mem 96M
check "--mem 96M: QEMU gets -m 96" [ "$(mem_of)" = "-m 96" ]
run --dry-run --mem 2G
check "--mem 2G: QEMU gets -m 2048" [ "$(mem_of)" = "-m 2048" ]
run --dry-run --mem=512
check "--mem=512 (MiB): QEMU gets -m 512" [ "$(mem_of)" = "-m 512" ]
run --dry-run --mem 98304k
check "--mem 98304k: QEMU gets -m 96" [ "$(mem_of)" = "-m 96" ]
# The guest is told the QEMU version and the firmware (known deviations
# can be listed for a range of versions); an explicit qemu= wins.
run --dry-run
check "the guest is told the QEMU version and the firmware" grep -q "qemu=7.2.0 firmware=seabios" "$work/out"
STUB_VERSION=10.1.2 run --dry-run
check "another QEMU, another version: qemu=10.1.2" grep -q "qemu=10.1.2 " "$work/out"
run --dry-run --cmdline "qemu=9.0"
check "qemu= given on the command line is kept, not added twice" \
	bash -c '[ "$(grep -o "qemu=[0-9.]*" "$0" | sort -u)" = "qemu=9.0" ]' "$work/out"
# --firmware: the images from QEMU's firmware descriptors (made-up ones
# here), a copy of the variable store per run, the secure flash for SMM.
mkdir -p "$work/fw"
: >"$work/fw/CODE.fd"; : >"$work/fw/CODE.smm.fd"; : >"$work/fw/VARS.fd"
desc() {  # file features-json code
	printf '{"interface-types":["uefi"],"mapping":{"device":"flash","executable":{"filename":"%s"},"nvram-template":{"filename":"%s"}},"targets":[{"architecture":"x86_64","machines":["pc-q35-*","pc-i440fx-*"]}],"features":%s}\n' \
		"$3" "$work/fw/VARS.fd" "$2" >"$work/fw/$1"
}
desc 50-smm.json '["requires-smm"]' "$work/fw/CODE.smm.fd"
desc 60-plain.json '["acpi-s3"]' "$work/fw/CODE.fd"
desc 40-enrolled.json '["requires-smm","enrolled-keys"]' "$work/fw/NOPE.fd"
export QEMU_FIRMWARE_DIR=$work/fw
run --dry-run --firmware ovmf
check "--firmware ovmf: the descriptor without requires-smm, its code read-only, a copy of the variable store" \
	bash -c 'grep -q "unit=0,readonly=on,file=$1/CODE.fd " "$0" && grep -q "unit=1,file=.*/vars.fd" "$0" &&
		! grep -q "secure,value=on" "$0" && grep -q "firmware=ovmf " "$0"' "$work/out" "$work/fw"
run --dry-run --firmware ovmf-smm
check "--firmware ovmf-smm: the requires-smm descriptor without enrolled keys, with a secure flash" \
	bash -c 'grep -q "file=$1/CODE.smm.fd " "$0" && grep -q "secure,value=on" "$0" &&
		grep -q "expect_smm=firmware" "$0"' "$work/out" "$work/fw"
st=0
run --dry-run --firmware ovmf-smm --machine pc || st=$?
check "--firmware ovmf-smm on pc is refused (status $st)" [ "$st" = 2 ]
st=0
QEMU_FIRMWARE_DIR=$work/none run --dry-run --firmware ovmf || st=$?
check "no descriptor: a clear error (status $st)" bash -c '[ "$0" != 0 ] && grep -q "no ovmf firmware" "$1"' "$st" "$work/out"
unset QEMU_FIRMWARE_DIR
for bad in 2X -1 0 1.5G 1000k ''; do
	st=0
	run --dry-run --mem "$bad" || st=$?
	check "--mem '$bad' is refused (status 2) with a message naming it (status $st)" \
		bash -c '[ "$0" = 2 ] && grep -q -- "--mem: expected a size .*got '\''$1'\''" "$2"' "$st" "$bad" "$work/out"
done

echo "1..$n"
echo "# run-qemu.sh probe: $((n - failed)) passed, $failed failed"
((failed == 0))
