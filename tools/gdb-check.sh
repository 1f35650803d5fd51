#!/usr/bin/env bash
# tools/gdb-check.sh - check that gdb can debug the kernel and SMM (make gdb-check).
#
# Boots build/smmsync.iso halted (q35, 4 vCPUs, TCG, tests=smm.reloc) with a
# gdb stub on the unix socket build/gdb-check.sock (not build/gdb.sock, so a
# 'make debug' session is not disturbed), runs gdb in batch mode with
# tools/gdbinit and checks:
#   kmain          a hardware breakpoint at kmain is hit
#   threads        'info threads' lists every vCPU (4)
#   smm_entry      a hardware breakpoint at smm_entry (SMM image) is hit once SMM is ready
#   smram-read     through that vCPU the save-state revision at SMBASE+0xFEFC reads 0x00020064
#   smram-hidden   through a vCPU outside SMM the same address does not
#   smm-savestate  decodes the live map (revision, SMBASE)
#   smm-cpus       lists 4 vCPUs, the stopped one in SMM as the CPU in edi
#   smm-layout     shows the SMBASE the stub passed in rsi
#   smm-synch      every synchbyte has a known value
#   ss-tables      the helper's save-state maps equal the kernel's (smm/savestate.c)
#   smm-log        a later SMM entry: records with role names
#   phys           PhyMemMode on and off
#   verdict        after gdb detaches the guest finishes its tests and passes
# Prints PASS/FAIL per check and "N passed, N failed"; exit 1 on any failure.
# Everything is bounded (< 90 s); QEMU is always stopped at the end.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
case ${1-} in
-h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
'') ;;
*) echo "usage: tools/gdb-check.sh" >&2; exit 2 ;;
esac

SOCK=build/gdb-check.sock
SERIAL=build/gdb-check-serial.log
for f in build/kernel.elf build/smm.elf build/smmsync.iso; do
	[[ -f $f ]] || { echo "gdb-check: $f missing (run make)" >&2; exit 2; }
done
command -v gdb >/dev/null || { echo "gdb-check: gdb not found (tools/deps.sh)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smmsync-gdbcheck.XXXXXX")
qpid=''
stop_qemu() {
	# run-qemu.sh runs in its own session (setsid): stop that process group.
	local i
	[[ -n $qpid ]] && kill -0 "$qpid" 2>/dev/null || return 0
	kill -TERM -- "-$qpid" 2>/dev/null || kill -TERM "$qpid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$qpid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$qpid" 2>/dev/null || kill -KILL "$qpid" 2>/dev/null
}
cleanup() {
	stop_qemu
	rm -f "$SOCK"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass=0 fail=0
result() { # PASS|FAIL name detail
	echo "$1: $2${3:+ - $3}"
	if [[ $1 == PASS ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

# ---------------------------------------------------------------- QEMU
rm -f "$SOCK"
# -S and the stub go through run-qemu.sh's '--' passthrough: its --gdb would
# (re)create build/gdb.sock, which an interactive 'make debug' may be using.
setsid ./run-qemu.sh --machine q35 --smp 4 --accel tcg --timeout 60 --tests smm.reloc -- \
	-S -chardev "socket,path=$SOCK,server=on,wait=off,id=gdbcheck" -gdb chardev:gdbcheck \
	</dev/null >"$SERIAL" 2>&1 &
qpid=$!
for ((i = 0; i < 100; i++)); do
	[[ -S $SOCK ]] && break
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.1
done
if [[ ! -S $SOCK ]]; then
	result FAIL qemu "no gdb socket $SOCK after 10 s; $SERIAL:"
	sed 's/^/    /' "$SERIAL" | tail -n 20
	echo "$pass passed, $((fail)) failed"
	exit 1
fi

# ---------------------------------------------------------------- gdb
cat >"$tmp/check.py" <<'EOF'
import re
import gdb
import smmsync_gdb as H   # tools/smmsync_gdb.py, imported by tools/gdbinit

def out(name, ok, detail=""):
    print("%s: %s%s" % ("PASS" if ok else "FAIL", name, " - " + detail if detail else ""))

def run(cmd):
    return gdb.execute(cmd, to_string=True)

def check(name, fn):
    try:
        ok, detail = fn()
    except Exception as e:          # a gdb error is a failed check, not a crash
        ok, detail = False, "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
    out(name, ok, detail)
    return ok

def fn_name():
    try:
        f = gdb.selected_frame().function()
        return f.name if f else "?"
    except gdb.error:
        return "?"

# (a) kmain
run("hbreak kmain")
def a():
    run("continue")
    pc = int(gdb.parse_and_eval("$pc"))
    k = int(gdb.parse_and_eval("(unsigned long)&kmain"))
    return pc == k, "stopped at pc 0x%x (%s), kmain 0x%x" % (pc, fn_name(), k)
check("kmain", a)
run("delete")

# (b) threads
def b():
    t = run("info threads")
    n = len(re.findall(r"Thread 1\.\d+ \(CPU#\d+", t))
    return n == 4, "%d vCPU threads in 'info threads'" % n
check("threads", b)

# (c) smm_entry in the SMM image, once SMRAM is set up and closed
run("hbreak smm_entry if smm.ready")
st = {}
def c():
    run("continue")
    pc = int(gdb.parse_and_eval("$pc"))
    e = int(gdb.parse_and_eval("(unsigned long)&smm_entry"))
    st["cpu"] = int(gdb.parse_and_eval("$rdi")) & 0xFFFFFFFF
    st["smbase"] = int(gdb.parse_and_eval("$rsi"))
    st["thread"] = gdb.selected_thread()
    return pc == e and pc >= H.IMAGE_VBASE, "thread %d stopped at 0x%x (%s), edi (cpu) = %d, rsi (SMBASE) = 0x%x" % (
        st["thread"].num, pc, fn_name(), st["cpu"], st["smbase"])
hit = check("smm_entry", c)

def c2():
    rev = H.le(H.read_mem(st["smbase"] + 0xFEFC, 4), 0, 4)
    lay = int(gdb.parse_and_eval("smm.layout.smbase[%d]" % st["cpu"]))
    return rev == 0x00020064 and lay == st["smbase"], \
        "x/wx 0x%x (SMBASE+0xFEFC) through the vCPU in SMM = 0x%08x (want 0x00020064); smm.layout.smbase[%d] = 0x%x" % (
            st["smbase"] + 0xFEFC, rev, st["cpu"], lay)

def c3():
    vcpus, k, _ = H.snapshot()
    outside = [v for v in vcpus if not v.smm]
    if not outside:
        return False, "no vCPU outside SMM to compare with"
    with H.on_thread(outside[0].thread):
        rev = H.le(H.read_mem(st["smbase"] + 0xFEFC, 4), 0, 4)
    return rev != 0x00020064, "the same address through thread %d (not in SMM) = 0x%08x (closed SMRAM)" % (
        outside[0].thread.num, rev)

def c4():
    t = run("smm-savestate %d" % st["cpu"])
    ok = ("revision 0x00020064: AMD64 map" in t and "live" in t and
          re.search(r"smbase\s+0x%08x" % st["smbase"], t) is not None)
    return ok, " | ".join(t.splitlines()[:2])

def d():
    t = run("smm-cpus")
    rows = [l for l in t.splitlines() if re.match(r"[ *]\d+\s+#\d+", l)]
    me = [l for l in rows if l.startswith("*")]
    ok = len(rows) == 4 and len(me) == 1 and re.match(r"\*\d+\s+#\d+\s+%d\s+\S+\s+.*\syes\s+long\s" % st["cpu"], me[0])
    return bool(ok), (me[0].strip() if me else "no selected row") + " (%d rows)" % len(rows)

def e():
    t = run("smm-layout")
    ok = re.search(r"^%d\s+0x%08x\s" % (st["cpu"], st["smbase"]), t, re.M) is not None
    return ok, "cpu %d smbase 0x%x %s" % (st["cpu"], st["smbase"], "listed" if ok else "missing:\n" + t)

def f():
    t = run("smm-synch")
    rows = re.findall(r"^(\d+)\s+\S+\s+\S+\s+(0x[0-9a-f]{2}) (\S+)", t, re.M)
    ok = len(rows) == 4 and all(n in ("inactive", "active", "in-smm") for _, _, n in rows)
    return ok, t.splitlines()[0] + "; " + ", ".join("cpu%s %s %s" % r for r in rows)

def g():
    # The kernel's tables in smm/savestate.c: struct loc { u16 off; u8 size; } (4 bytes).
    bad = []
    with H.on_thread(H.kernel_reader(H.snapshot()[0])):
        for sym, table in (("amd64", H.SS_AMD64), ("ia32", H.SS_IA32)):
            v = H.ksym(sym)
            for i, name in enumerate(H.SS_NAMES):
                off, size = int(v[i]["off"]), int(v[i]["size"])
                want = table.get(name, (0, 0))
                if (size and (off, size) != want) or (not size and name in table):
                    bad.append("%s.%s kernel (0x%x,%d) helper %s" % (sym, name, off, size, want))
            names = H.ksym("names")
            for i, name in enumerate(H.SS_NAMES):
                if names[i].string() != name:
                    bad.append("names[%d] %s != %s" % (i, names[i].string(), name))
    return not bad, "%d fields in 2 maps match smm/savestate.c" % len(H.SS_NAMES) if not bad else "; ".join(bad[:4])

if hit:
    check("smram-read", c2)
    check("smram-hidden", c3)
    check("smm-savestate", c4)
    check("smm-cpus", d)
    check("smm-layout", e)
    check("smm-synch", f)
else:
    for n in ("smram-read", "smram-hidden", "smm-savestate", "smm-cpus", "smm-layout", "smm-synch"):
        out(n, False, "smm_entry was not hit")
check("ss-tables", g)

def h():
    # A later entry, once an earlier one has a complete record. The next
    # stop can be another CPU's entry on the same SMI (seen under load:
    # "0 records"), so continue until records show, at most 8 stops.
    for stop in range(1, 9):
        run("continue")
        if int(gdb.parse_and_eval("$pc")) != int(gdb.parse_and_eval("(unsigned long)&smm_entry")):
            return False, "stop %d not at smm_entry" % stop
        t = run("smm-log")
        recs = re.findall(r"^\s+(\d+)\s+(\d+)\s+([a-z-]+)\s+([a-z]+)\s", t, re.M)
        if recs:
            return True, "%d records at stop %d; first: %s" % (len(recs), stop, " ".join(recs[0]))
    return False, "no records in 8 stops at smm_entry; last: %s" % t.strip()
check("smm-log", h) if hit else out("smm-log", False, "smm_entry was not hit")

def p():
    on, off = run("phys on"), run("phys off")
    return "physical" in on and "virtual" in off, (on.strip() + " / " + off.strip())
check("phys", p)

run("delete")
print("gdb-check: detaching")
gdb.execute("detach")
print("gdb-check: done")
EOF

gdb_out=$tmp/gdb.out
timeout -k 5 50 gdb -batch -nx -x tools/gdbinit \
	-ex "target remote $SOCK" -x "$tmp/check.py" >"$gdb_out" 2>&1
gst=$?
grep -E '^(PASS|FAIL): ' "$gdb_out"
pass=$((pass + $(grep -c '^PASS: ' "$gdb_out")))
fail=$((fail + $(grep -c '^FAIL: ' "$gdb_out")))
if ! grep -q '^gdb-check: done' "$gdb_out"; then
	result FAIL gdb "gdb did not finish the checks (status $gst); its output:"
	sed 's/^/    /' "$gdb_out" | tail -n 30
fi

# ---------------------------------------------------------------- verdict
# Detached, the guest runs its test to the end: run-qemu.sh exits 0 on pass.
qst=''
for ((i = 0; i < 150; i++)); do
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.1
done
if ! kill -0 "$qpid" 2>/dev/null; then
	wait "$qpid"
	qst=$?
	qpid=''
fi
if [[ $qst == 0 ]]; then
	result PASS verdict "$(grep -E '^# Totals' "$SERIAL" | head -n1) after gdb detached"
else
	result FAIL verdict "run-qemu.sh status ${qst:-still running after 15 s}; $SERIAL:"
	sed 's/^/    /' "$SERIAL" | tail -n 15
fi
echo "$pass passed, $fail failed"
((fail == 0))
