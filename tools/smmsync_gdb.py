# smmsync gdb helpers; sourced by tools/gdbinit (gdb 13 with Python 3).
#
# Commands (each has 'help NAME'):
#   smm-cpus              every vCPU: thread, QEMU CPU#, kernel CPU, APIC ID,
#                         kernel state, SMM or not, mode, linear pc and where
#   smm-savestate N [smram|kernel]
#                         decode CPU N's save state (AMD64 or 32-bit map)
#   smm-synch             every CPU's synchbyte and the current backend
#   smm-log [N [K]]       the last K SMM event records of CPU N (all CPUs)
#   smm-layout            smm.layout and the SMM state flags
#   phys [on|off]         gdb memory accesses physical (QEMU PhyMemMode)
#   realmode [on|off]     on every stop, show [cs:ip], linear pc and the
#                         instruction decoded in the vCPU's current mode
#   xpc [N]               N instructions at the current linear pc, current mode
#   xi16 [ADDR [N]], xi32 [ADDR [N]], xi64 [ADDR [N]]
#                         N instructions at linear ADDR decoded as 16/32/64-bit
#
# How the vCPU state is found: QEMU's gdb stub gives each vCPU as a thread
# (thread id = QEMU CPU index + 1) and its registers, but neither the SMM
# flag nor the CS base. Both come from the HMP monitor through the stub
# ('monitor info registers -a': "... SMM=1 HLT=0" and the CS line
# "CS =f800 1fef8000 ..."). Without a monitor the helpers fall back to a
# guess from $pc (the SMM image is linked at 0xFFFFFFFFC0000000).
#
# Memory: QEMU reads guest memory through the selected vCPU's address space,
# so SMRAM is visible only through a vCPU that is in SMM (docs/PLATFORM.md
# Q10). The helpers read kernel data through a vCPU that is NOT in SMM and
# SMRAM through one that is, and restore the selected thread/frame. Under
# KVM any memory access through a vCPU in SMM aborts QEMU (assert in
# cpu_asidx_from_attrs), so the helpers refuse to read SMRAM there.

import os
import re
import subprocess
import tempfile

import gdb

IMAGE_VBASE = 0xFFFFFFFFC0000000   # smm/smm_abi.h SMM_IMAGE_VBASE
ENTRY_OFFSET = 0x8000              # SMM_ENTRY_OFFSET
SAVE_OFFSET = 0xFE00               # SMM_SAVE_OFFSET
SAVE_SIZE = 0x200                  # SMM_SAVE_SIZE
RING = 16                          # SMM_RING
REV_AMD64 = 0x00020064             # smm/savestate.h SS_REV_AMD64
REV_IA32 = 0x00020000              # SS_REV_IA32
REV_SMBASE_RELOC = 1 << 17
LOWMEM_BASE = 0x8000               # boot/layout.inc
DEFAULT_SMBASES = (0x30000, 0xA0000)   # APs' reset SMBASE; where SeaBIOS left the BSP

# ---- save-state maps: a copy of smm/savestate.c (offset from SMBASE+0xFE00,
# size). tools/gdb-check.sh compares them with the kernel's own tables.
SS_NAMES = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "rflags", "cr0", "cr3", "cr4", "efer", "dr6", "dr7",
    "es", "cs", "ss", "ds", "fs", "gs",
    "es.base", "cs.base", "ss.base", "ds.base", "fs.base", "gs.base",
    "cs.limit", "cs.attr", "gdtr.base", "gdtr.limit", "idtr.base", "idtr.limit",
    "smbase", "revision",
]
SS_AMD64 = {
    "rax": (0x1F8, 8), "rcx": (0x1F0, 8), "rdx": (0x1E8, 8), "rbx": (0x1E0, 8),
    "rsp": (0x1D8, 8), "rbp": (0x1D0, 8), "rsi": (0x1C8, 8), "rdi": (0x1C0, 8),
    "r8": (0x1B8, 8), "r9": (0x1B0, 8), "r10": (0x1A8, 8), "r11": (0x1A0, 8),
    "r12": (0x198, 8), "r13": (0x190, 8), "r14": (0x188, 8), "r15": (0x180, 8),
    "rip": (0x178, 8), "rflags": (0x170, 8),
    "cr0": (0x158, 8), "cr3": (0x150, 8), "cr4": (0x148, 8),
    "efer": (0x0D0, 8), "dr6": (0x168, 8), "dr7": (0x160, 8),
    "es": (0x000, 2), "cs": (0x010, 2), "ss": (0x020, 2),
    "ds": (0x030, 2), "fs": (0x040, 2), "gs": (0x050, 2),
    "es.base": (0x008, 8), "cs.base": (0x018, 8), "ss.base": (0x028, 8),
    "ds.base": (0x038, 8), "fs.base": (0x048, 8), "gs.base": (0x058, 8),
    "cs.limit": (0x014, 4), "cs.attr": (0x012, 2),
    "gdtr.base": (0x068, 8), "gdtr.limit": (0x064, 4),
    "idtr.base": (0x088, 8), "idtr.limit": (0x084, 4),
    "smbase": (0x100, 4), "revision": (0x0FC, 4),
}
SS_IA32 = {
    "rax": (0x1D0, 4), "rcx": (0x1D4, 4), "rdx": (0x1D8, 4), "rbx": (0x1DC, 4),
    "rsp": (0x1E0, 4), "rbp": (0x1E4, 4), "rsi": (0x1E8, 4), "rdi": (0x1EC, 4),
    "rip": (0x1F0, 4), "rflags": (0x1F4, 4),
    "cr0": (0x1FC, 4), "cr3": (0x1F8, 4), "cr4": (0x114, 4),
    "dr6": (0x1CC, 4), "dr7": (0x1C8, 4),
    "es": (0x1A8, 4), "cs": (0x1AC, 4), "ss": (0x1B0, 4),
    "ds": (0x1B4, 4), "fs": (0x1B8, 4), "gs": (0x1BC, 4),
    "es.base": (0x18C, 4), "cs.base": (0x198, 4), "ss.base": (0x1A4, 4),
    "ds.base": (0x134, 4), "fs.base": (0x140, 4), "gs.base": (0x14C, 4),
    "cs.limit": (0x194, 4), "cs.attr": (0x190, 4),
    "gdtr.base": (0x174, 4), "gdtr.limit": (0x170, 4),
    "idtr.base": (0x158, 4), "idtr.limit": (0x154, 4),
    "smbase": (0x0F8, 4), "revision": (0x0FC, 4),
}

# Fallback names if the kernel's DWARF lacks an enum (it normally has them).
FALLBACK_ENUMS = {
    "enum cpu_state": ["absent", "offline", "starting", "idle", "busy", "parked-hlt",
                       "parking-init", "parked-init", "failed"],
    "enum smm_role": ["none", "monarch", "member", "late", "nowork", "service", "wfs-park"],
    "enum rdv_policy": ["pullin", "patent", "waitall"],
    "enum synch_backend": ["mem", "smram", "cmos"],
    "enum smm_cmd_id": ["none", "nop", "ping", "hash-smram", "copy-in", "set-backend",
                        "set-timeouts", "read-synch", "write-synch", "copy-out", "probe"],
    "enum smm_local_op": ["none", "synch-set", "set-rax", "set-smbase", "hold", "read-msr"],
}
ENUM_PREFIX = {"enum cpu_state": "CPU_", "enum smm_role": "ROLE_", "enum rdv_policy": "RDV_",
               "enum synch_backend": "SYNCH_", "enum smm_cmd_id": "SMM_CMD_",
               "enum smm_local_op": "SMM_LOCAL_", "enum smram_region": "SMRAM_"}
SYNCH_NAMES = {0x00: "inactive", 0xA5: "active", 0x5A: "in-smm"}
REC_FLAGS = [(1 << 0, "ran-cmd"), (1 << 1, "proto-fail"), (1 << 2, "bad-synch"),
             (1 << 3, "timeout"), (1 << 4, "hw-tco")]


# ---------------------------------------------------------------- basics

def _objfile(suffix):
    for o in gdb.objfiles():
        if o.filename and os.path.basename(o.filename) == suffix:
            return o
    return None


def ksym(name):
    """A kernel global (build/kernel.elf), unambiguous even when the SMM
    image has a symbol of the same name."""
    o = _objfile("kernel.elf")
    if o is None:
        raise gdb.GdbError("build/kernel.elf is not loaded (file build/kernel.elf)")
    s = o.lookup_global_symbol(name) or o.lookup_static_symbol(name)
    if s is None:
        raise gdb.GdbError("no symbol '%s' in kernel.elf" % name)
    return s.value()


def ssym(name):
    o = _objfile("smm.elf")
    if o is None:
        raise gdb.GdbError("build/smm.elf is not loaded (add-symbol-file build/smm.elf)")
    s = o.lookup_global_symbol(name) or o.lookup_static_symbol(name)
    if s is None:
        raise gdb.GdbError("no symbol '%s' in smm.elf" % name)
    return s.value()


def enum_name(tname, v):
    """Short lower-case name of value v of a kernel enum: ROLE_MONARCH -> monarch."""
    v = int(v)
    try:
        t = gdb.lookup_type(tname)
        for f in t.fields():
            if f.enumval == v:
                n = f.name
                p = ENUM_PREFIX.get(tname, "")
                if n.startswith(p):
                    n = n[len(p):]
                return n.lower().replace("_", "-")
    except gdb.error:
        pass
    names = FALLBACK_ENUMS.get(tname, [])
    return names[v] if 0 <= v < len(names) else "?(%d)" % v


def _threads():
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0:
        raise gdb.GdbError("not connected: target remote build/gdb.sock")
    return sorted(inf.threads(), key=lambda t: t.num)


def qemu_index(t):
    """QEMU's CPU index of a gdb thread (QEMU's thread id = index + 1)."""
    lwp = t.ptid[1] or t.ptid[0]
    return lwp - 1


class on_thread:
    """with on_thread(t): run with thread t selected, then restore the
    user's thread and frame."""

    def __init__(self, t):
        self.t = t

    def __enter__(self):
        self.old = gdb.selected_thread()
        self.level = None
        try:
            self.level = gdb.selected_frame().level()
        except (gdb.error, RuntimeError):
            pass
        if self.t is not None and self.old is not None and self.t.num != self.old.num:
            self.t.switch()
        return self

    def __exit__(self, *exc):
        if self.old is not None and self.old.is_valid():
            cur = gdb.selected_thread()
            if cur is None or cur.num != self.old.num:
                self.old.switch()
            if self.level:
                try:
                    gdb.execute("frame %d" % self.level, to_string=True)
                except gdb.error:
                    pass
        return False


def read_mem(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def le(b, off, size):
    return int.from_bytes(b[off:off + size], "little")


def monitor(cmd):
    return gdb.execute("monitor " + cmd, to_string=True)


def accel():
    """'kvm', 'tcg' or '?' (asks QEMU: monitor info kvm)."""
    try:
        out = monitor("info kvm")
    except gdb.error:
        return "?"
    if "enabled" in out:
        return "kvm"
    if "disabled" in out:
        return "tcg"
    return "?"


# ---------------------------------------------------------------- vCPU state

def _monitor_regs():
    """{qemu index: dict} parsed from 'monitor info registers -a', or None."""
    try:
        out = monitor("info registers -a")
    except gdb.error:
        return None
    cpus, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"CPU#(\d+)", line)
        if m:
            cur = {"index": int(m.group(1)), "gpr": {}, "seg": {}}
            cpus[cur["index"]] = cur
            continue
        if cur is None:
            continue
        m = re.match(r"([ER])IP=([0-9a-f]+) [ER]FL=([0-9a-f]+).*\bCPL=(\d).*\bSMM=(\d) HLT=(\d)", line)
        if m:
            cur["ip"] = int(m.group(2), 16)
            cur["rflags"] = int(m.group(3), 16)
            cur["cpl"] = int(m.group(4))
            cur["smm"] = m.group(5) == "1"
            cur["hlt"] = m.group(6) == "1"
            continue
        m = re.match(r"(ES|CS|SS|DS|FS|GS|LDT|TR) *=([0-9a-f]{4}) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+)", line)
        if m:
            cur["seg"][m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16),
                                      int(m.group(4), 16), int(m.group(5), 16))
            continue
        for k, v in re.findall(r"\b(CR[0-4]|EFER)=([0-9a-f]+)", line):
            cur[k.lower()] = int(v, 16)
        if re.match(r"[ER](AX|SI|8 )", line) or line.startswith(("R12", "R8 ")):
            for k, v in re.findall(r"\b([ER][A-Z]{2}|R\d+) *=([0-9a-f]+)", line):
                cur["gpr"]["r" + k[1:].lower() if k[0] == "E" else k.lower()] = int(v, 16)
    ok = {i: c for i, c in cpus.items() if "ip" in c and "CS" in c["seg"]}
    return ok or None


def _mode(c):
    """'real', 'prot16', 'prot32' or 'long' (64-bit) from CR0, EFER and CS."""
    if not c.get("cr0", 0) & 1:
        return "real"
    flags = c["seg"]["CS"][3]
    if c.get("efer", 0) & (1 << 10) and flags & (1 << 21):
        return "long"
    return "prot32" if flags & (1 << 22) else "prot16"


def _bits(mode):
    return {"real": 16, "prot16": 16, "prot32": 32, "long": 64}[mode]


class VCpu:
    """One vCPU as gdb and QEMU see it, plus which kernel CPU it is."""

    def __init__(self, t, mon):
        self.thread = t
        self.qidx = qemu_index(t)
        self.details = t.details or ""
        self.kidx = None          # logical CPU number in the kernel's cpus[]
        self.kidx_how = ""
        c = mon.get(self.qidx) if mon else None
        self.from_monitor = c is not None
        if c:
            self.smm = c["smm"]
            self.hlt = c["hlt"]
            self.mode = _mode(c)
            sel, base = c["seg"]["CS"][0], c["seg"]["CS"][1]
            self.cs, self.cs_base = sel, base
            self.ip = c["ip"]
            self.gs_base = c["seg"].get("GS", (0, 0))[1]
            self.rsp = c["gpr"].get("rsp", 0)
            self.rbx = c["gpr"].get("rbx", 0)
            self.rdi = c["gpr"].get("rdi", 0)
            self.rsi = c["gpr"].get("rsi", 0)
        else:
            with on_thread(t):
                reg = lambda r: int(gdb.parse_and_eval("$" + r)) & 0xFFFFFFFFFFFFFFFF
                self.ip, self.cs = reg("pc"), reg("cs")
                cr0, efer = reg("cr0"), reg("efer")
                self.gs_base, self.rsp, self.rbx = reg("gs_base"), reg("rsp"), reg("rbx")
                self.rdi, self.rsi = reg("rdi"), reg("rsi")
            self.hlt = "halted" in self.details
            if not cr0 & 1:
                self.mode, self.cs_base = "real", self.cs << 4
            else:
                self.mode, self.cs_base = ("long" if efer & (1 << 10) else "prot32"), 0
            self.smm = self.ip >= IMAGE_VBASE    # a guess: only the C handler
        self.linear = (self.cs_base + self.ip) & 0xFFFFFFFFFFFFFFFF if self.mode != "long" else self.ip


def kernel_reader(vcpus):
    """A vCPU to read kernel memory through: the selected one unless it is
    in SMM (KVM would abort QEMU), else any vCPU outside SMM."""
    sel = gdb.selected_thread()
    cands = [v for v in vcpus if sel is not None and v.thread.num == sel.num and not v.smm]
    cands += [v for v in vcpus if not v.smm]
    if cands:
        return cands[0].thread
    if accel() == "kvm":
        raise gdb.GdbError("every vCPU is in SMM and this is KVM: a gdb memory read "
                           "would abort QEMU (docs/PLATFORM.md Q10)")
    return sel


def smram_reader(vcpus, prefer=None):
    """A vCPU in SMM to read SMRAM through (None if there is none or KVM)."""
    inside = [v for v in vcpus if v.smm]
    if not inside or accel() == "kvm":
        return None
    for v in inside:
        if prefer is not None and v.kidx == prefer:
            return v
    return inside[0]


class Kernel:
    """Snapshot of the kernel tables the helpers need (read through a
    vCPU outside SMM)."""

    def __init__(self, vcpus):
        with on_thread(kernel_reader(vcpus)):
            self.ncpus = int(ksym("ncpus"))
            cpus = ksym("cpus")
            self.cpus = []
            for i in range(min(self.ncpus, 64)):
                c = cpus[i]
                self.cpus.append({"apic": int(c["apic_id"]), "bsp": bool(c["bsp"]),
                                  "state": int(c["state"])})
            smm = ksym("smm")
            lay = smm["layout"]
            self.lay_n = int(lay["ncpus"])
            self.smbase = [int(lay["smbase"][i]) for i in range(self.lay_n)]
            self.stub = [int(lay["stub"][i]) for i in range(self.lay_n)]
            self.stack = [int(lay["stack"][i]) for i in range(self.lay_n)]
            self.stub_size = int(lay["stub_size"])
            self.stack_size = int(lay["stack_size"])
            self.reloc_old = [int(smm["reloc_old"][i]) for i in range(min(self.ncpus, 64))]
            self.relocated = [bool(smm["relocated"][i]) for i in range(min(self.ncpus, 64))]
            comm = ksym("smm_comm")
            self.last_smbase = []
            for i in range(min(self.ncpus, 64)):
                rc = int(comm["cpu"][i]["rec_count"])
                self.last_smbase.append(int(comm["cpu"][i]["ring"][(rc - 1) % RING]["smbase"])
                                        if rc else 0)
            self.percpu = {}
            t = gdb.lookup_type("struct percpu").pointer()
            for v in vcpus:
                if v.gs_base and v.gs_base < IMAGE_VBASE:
                    try:
                        p = gdb.Value(v.gs_base).cast(t).dereference()
                        if int(p["self"]) == v.gs_base:
                            self.percpu[v.qidx] = int(p["idx"])
                    except gdb.error:
                        pass

    def identify(self, v):
        """Which kernel CPU vCPU v is, and how we know."""
        if v.qidx in self.percpu:
            return self.percpu[v.qidx], "gs"
        if v.smm:
            for i in range(self.lay_n):
                if self.stack[i] <= v.rsp < self.stack[i] + self.stack_size:
                    return i, "smm-stack"
            for i in range(self.lay_n):
                if v.mode != "long" and v.cs_base == self.smbase[i]:
                    return i, "smbase"
                if self.stub[i] <= v.linear < self.stub[i] + max(self.stub_size, 0x100):
                    return i, "stub"    # each CPU runs the stub copy at its own SMBASE
        if v.qidx < self.ncpus:
            return v.qidx, "assumed"
        return None, ""


def snapshot():
    """(vcpus, kernel, monitor_ok) at the current stop."""
    threads = _threads()
    mon = _monitor_regs()
    vcpus = [VCpu(t, mon) for t in threads]
    try:
        k = Kernel(vcpus)
    except gdb.error as e:
        raise gdb.GdbError("cannot read the kernel's tables: %s" % e)
    for v in vcpus:
        v.kidx, v.kidx_how = k.identify(v)
    return vcpus, k, mon is not None


def where(v, k):
    pc = v.linear
    try:
        s = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    except gdb.error:
        s = ""
    if s and not s.startswith("No symbol"):
        name = s.split(" in section")[0]
        return name + (" [SMM image]" if pc >= IMAGE_VBASE else "")
    for i in range(k.lay_n):
        if k.stub[i] <= pc < k.stub[i] + max(k.stub_size, 0x100):
            return "SMM entry stub of cpu %d (smm/stub.asm +0x%x)" % (i, pc - k.stub[i])
    lowmem = 0x1000
    try:
        lowmem = os.path.getsize("build/lowmem.bin")
    except OSError:
        pass
    if LOWMEM_BASE <= pc < LOWMEM_BASE + lowmem:
        return "lowmem +0x%x (smp/lowmem.asm: trampoline/park/mode tests)" % (pc - LOWMEM_BASE)
    for b in sorted(set(DEFAULT_SMBASES) | set(k.reloc_old)):
        if b and b + ENTRY_OFFSET <= pc < b + ENTRY_OFFSET + 0x1000:
            if k.ncpus == 0:
                return "firmware's SMI handler at SMBASE 0x%x" % b
            return "SMBASE relocation handler at SMBASE 0x%x (smm/reloc.asm)" % b
    if 0xF0000 <= pc < 0x100000 or pc >= 0xFFFF0000 and pc < 0x100000000:
        return "firmware (BIOS)"
    return "?"


# ---------------------------------------------------------------- commands

class SmmCpus(gdb.Command):
    """smm-cpus: every vCPU (gdb thread) with its QEMU CPU index, the kernel
CPU number and APIC ID (cpus[]), the kernel's state for it, whether it is in
SMM, its mode, its linear pc (CS base + EIP) and where that is.

SMM comes from QEMU's own flag (monitor 'info registers -a' prints SMM=1);
the gdb stub does not report it. The kernel CPU is found from GS base
(struct percpu.idx) outside SMM, and from the SMM stack, SMBASE (CS base in
the 16-bit stub) or the stub its pc is in, in SMM."""

    def __init__(self):
        super().__init__("smm-cpus", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        vcpus, k, mon_ok = snapshot()
        sel = gdb.selected_thread()
        print("%d vCPUs (%s); kernel: ncpus=%d, SMM layout for %d CPUs" %
              (len(vcpus), accel(), k.ncpus, k.lay_n))
        print("thr  vcpu cpu  apic  kernel-state      SMM  mode    hlt  linear-pc           where")
        for v in vcpus:
            st = apic = "-"
            cpu = "-" if v.kidx is None else str(v.kidx) + ("?" if v.kidx_how == "assumed" else "")
            if v.kidx is not None and v.kidx < len(k.cpus):
                c = k.cpus[v.kidx]
                apic = str(c["apic"])
                st = enum_name("enum cpu_state", c["state"]) + (" (bsp)" if c["bsp"] else "")
            smm = ("yes" if v.smm else "no") + ("" if v.from_monitor else "?")
            print("%s%-3d #%-3d %-4s %-5s %-17s %-4s %-7s %-4s 0x%016x  %s" %
                  ("*" if sel is not None and sel.num == v.thread.num else " ", v.thread.num,
                   v.qidx, cpu, apic, st, smm, v.mode, "yes" if v.hlt else "no",
                   v.linear, where(v, k)))
        if mon_ok:
            print("SMM/hlt/CS base: QEMU monitor 'info registers -a'; cpu: GS base -> percpu.idx,"
                  " or SMM stack/SMBASE/stub; '?' = assumed = QEMU index")
        else:
            print("no QEMU monitor: SMM is guessed from $pc (>= 0x%x = SMM image); '?' = guess"
                  % IMAGE_VBASE)


def _smbase_candidates(v, k, n):
    """Where CPU N's save state may be, best first: its CS base in the
    16-bit stub or relocation handler (CS base = SMBASE), the SMBASE of its
    last recorded entry, its SMBASE in the layout, and the pre-relocation
    SMBASE while it is not relocated (the APs share 0x30000 then)."""
    c = []
    if v is not None and v.smm and v.mode != "long":
        c.append((v.cs_base, "CS base"))
    if n < len(k.last_smbase) and k.last_smbase[n]:
        c.append((k.last_smbase[n], "last record"))
    if n < k.lay_n:
        c.append((k.smbase[n], "smm.layout"))
    if n < len(k.relocated) and not k.relocated[n]:
        c += [(k.reloc_old[n], "before relocation")] if k.reloc_old[n] else []
        c += [(b, "default") for b in DEFAULT_SMBASES]
    out, seen = [], set()
    for b, why in c:
        if b not in seen:
            seen.add(b)
            out.append((b, why))
    return out


def _valid_rev(rev):
    return rev not in (0, 0xFFFFFFFF) and (rev & 0xFFFF) in (REV_AMD64 & 0xFFFF, REV_IA32 & 0xFFFF)


def decode_savestate(ss):
    """[(name, value, size)] for the map ss's revision names, and the map name."""
    rev = le(ss, 0xFC, 4)
    if (rev & 0xFFFF) == (REV_AMD64 & 0xFFFF):
        m, name = SS_AMD64, "AMD64 map"
    elif (rev & 0xFFFF) == (REV_IA32 & 0xFFFF) and rev:
        m, name = SS_IA32, "32-bit map"
    else:
        return [], "unknown map"
    return [(f, le(ss, m[f][0], m[f][1]), m[f][1]) for f in SS_NAMES if f in m], name


def print_savestate(ss):
    fields, mapname = decode_savestate(ss)
    rev = le(ss, 0xFC, 4)
    print("revision 0x%08x: %s%s" % (rev, mapname,
          ", SMBASE relocation supported" if rev & REV_SMBASE_RELOC else ""))
    if not fields:
        print("  (no field decoded; first bytes: %s)" % ss[:16].hex())
        return {}
    vals = {}
    line = []
    for f, val, size in fields:
        vals[f] = val
        line.append("%-10s 0x%0*x" % (f, size * 2, val))
        if len(line) == 3:
            print("  " + "   ".join("%-29s" % s for s in line).rstrip())
            line = []
    if line:
        print("  " + "   ".join("%-29s" % s for s in line).rstrip())
    cs, base, rip = vals.get("cs", 0), vals.get("cs.base", 0), vals.get("rip", 0)
    lin = rip if (vals.get("efer", 0) & (1 << 10)) else base + rip
    try:
        s = gdb.execute("info symbol 0x%x" % lin, to_string=True).strip()
    except gdb.error:
        s = ""
    s = s.split(" in section")[0] if s and not s.startswith("No symbol") else "?"
    print("interrupted at %04x:%x (linear 0x%x) %s" % (cs, rip, lin, s))
    return vals


class SmmSaveState(gdb.Command):
    """smm-savestate N [smram|kernel]: decode CPU N's SMM save-state map
(SMBASE + 0xFE00, 512 bytes) for the revision it holds: 0x00020064 (AMD64
map; TCG always) or 0x00020000 (32-bit map; KVM without long mode).

Default source: SMRAM if CPU N's vCPU is in SMM (read through that vCPU; the
live map), else the kernel's copy smm_comm.cpu[N].save_state (the handler
copies it on every entry). 'smram' reads SMRAM through any vCPU in SMM (the
map of CPU N's last entry); 'kernel' forces the copy. Never reads SMRAM
under KVM (QEMU would abort)."""

    def __init__(self):
        super().__init__("smm-savestate", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        a = gdb.string_to_argv(arg)
        if not a or len(a) > 2 or (len(a) == 2 and a[1] not in ("smram", "kernel")):
            raise gdb.GdbError("usage: smm-savestate N [smram|kernel]")
        n = int(gdb.parse_and_eval(a[0]))
        src = a[1] if len(a) == 2 else None
        vcpus, k, _ = snapshot()
        if not 0 <= n < max(k.ncpus, 1):
            raise gdb.GdbError("no CPU %d (ncpus=%d)" % (n, k.ncpus))
        me = next((v for v in vcpus if v.kidx == n), None)
        kvm = accel() == "kvm"
        if src is None:
            src = "smram" if me is not None and me.smm and not kvm else "kernel"
        if src == "smram":
            if kvm:
                raise gdb.GdbError("KVM: reading SMRAM from gdb would abort QEMU; use 'kernel'")
            r = smram_reader(vcpus, prefer=n)
            if r is None:
                raise gdb.GdbError("no vCPU is in SMM: SMRAM is not visible; use 'kernel'")
            cands = _smbase_candidates(me, k, n)
            with on_thread(r.thread):
                for b, why in cands:
                    try:
                        ss = read_mem(b + SAVE_OFFSET, SAVE_SIZE)
                    except gdb.MemoryError:
                        continue
                    if _valid_rev(le(ss, 0xFC, 4)):
                        break
                else:
                    raise gdb.GdbError("cpu %d: no save state with a known revision at %s" % (
                        n, ", ".join("0x%x (%s)" % c for c in cands) or "no candidate SMBASE"))
            live = me is not None and me.smm
            print("cpu %d save state: SMRAM 0x%x (SMBASE 0x%x from %s + 0xfe00), read through "
                  "vCPU #%d (in SMM)%s" % (n, b + SAVE_OFFSET, b, why, r.qidx,
                                  "; live: cpu %d is in SMM" % n if live else
                                  "; cpu %d is not in SMM: the map of its last entry" % n))
        else:
            with on_thread(kernel_reader(vcpus)):
                cc = ksym("smm_comm")["cpu"][n]
                entries = int(cc["entries"])
                addr = int(cc["save_state"].address)
                ss = read_mem(addr, SAVE_SIZE)
            print("cpu %d save state: kernel copy smm_comm.cpu[%d].save_state at 0x%x "
                  "(copied at SMM entry #%d)" % (n, n, addr, entries))
            if entries == 0:
                print("  no SMM entry recorded for cpu %d yet" % n)
                return
        print_savestate(ss)


class SmmSynch(gdb.Command):
    """smm-synch: every CPU's synchbyte (0x00 inactive, 0xA5 active, 0x5A
in-smm) from the mem backend at smm.layout.synch_mem + i * synch_stride, and
from the smram backend (smm.layout.synch_smram + i * synch_stride) when a vCPU
is in SMM under TCG; prints the kernel's current backend (smm.backend) and
SMM's own (smm_config.backend) when SMRAM is readable. The CMOS backend
cannot be read from gdb (I/O ports)."""

    def __init__(self):
        super().__init__("smm-synch", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        vcpus, k, _ = snapshot()
        with on_thread(kernel_reader(vcpus)):
            smm = ksym("smm")
            lay = smm["layout"]
            backend = int(smm["backend"])
            mem, smr = int(lay["synch_mem"]), int(lay["synch_smram"])
            stride, n = int(lay["synch_stride"]), int(lay["ncpus"])
            if n == 0:
                print("no SMM layout yet (smm_setup has not run)")
                return
            memv = list(read_mem(mem, (n - 1) * stride + 1)[::stride]) if mem else None
        smrv = smm_backend = None
        r = smram_reader(vcpus)
        if r is not None:
            with on_thread(r.thread):
                try:
                    smrv = list(read_mem(smr, (n - 1) * stride + 1)[::stride])
                    smm_backend = int(ssym("smm_config")["backend"])
                except gdb.error:
                    pass
        print("backend: %s (smm.backend = %d)%s" %
              (enum_name("enum synch_backend", backend), backend,
               "; SMM's smm_config.backend = %s" % enum_name("enum synch_backend", smm_backend)
               if smm_backend is not None else ""))
        print("mem   bytes at 0x%x + i*%d%s" % (mem, stride,
              "  <- current" if backend == 0 else ""))
        if smrv is not None:
            print("smram bytes at 0x%x + i*%d (read through vCPU #%d in SMM)%s" %
                  (smr, stride, r.qidx, "  <- current" if backend == 1 else ""))
        else:
            print("smram bytes at 0x%x + i*%d: not visible (no vCPU in SMM%s)%s" %
                  (smr, stride, ", or KVM" if accel() != "tcg" else "",
                   "  <- current" if backend == 1 else ""))
        if backend == 2:
            print("cmos: the current backend; CMOS bytes are not readable from gdb")
        print("cpu  apic  kernel-state      mem             smram")
        for i in range(n):
            c = k.cpus[i] if i < len(k.cpus) else None

            def fmt(vals):
                if vals is None:
                    return "-"
                b = vals[i]
                return "0x%02x %s" % (b, SYNCH_NAMES.get(b, "INVALID"))
            print("%-4d %-5s %-17s %-15s %s" %
                  (i, c["apic"] if c else "-",
                   enum_name("enum cpu_state", c["state"]) if c else "-", fmt(memv), fmt(smrv)))


def _cpuset(v):
    """A cpuset_t (lib/cpuset.h) as "0-3,5", or "-" when empty."""
    words = v["w"]
    lo, hi = words.type.range()
    cpus = [k * 64 + b for k in range(lo, hi + 1)
            for b in range(64) if int(words[k]) >> b & 1]
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ",".join(out) or "-"


def _flags(f):
    s = [n for b, n in REC_FLAGS if f & b]
    rest = f & ~sum(b for b, _ in REC_FLAGS)
    if rest:
        s.append("0x%x" % rest)
    return ",".join(s) or "-"


def _cmd(cmd_id):
    if cmd_id == 0:
        return "-"
    if cmd_id & 0x100:
        return "local:" + enum_name("enum smm_local_op", cmd_id & 0xFF)
    return enum_name("enum smm_cmd_id", cmd_id)


class SmmLog(gdb.Command):
    """smm-log [N [K]]: the last K (default 16 = the whole ring; 4 per CPU
without N) SMM event records of CPU N (every CPU without N), from
smm_comm.cpu[N].ring and rec_count: seq, rendezvous event, role, policy,
flags, SMBASE, command, status, the waited/pulled/missing CPU sets and the
time spent waiting for peers (TSC ticks). An entry still running (entries >
rec_count) is shown as 'in progress'."""

    def __init__(self):
        super().__init__("smm-log", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        a = [int(gdb.parse_and_eval(x)) for x in gdb.string_to_argv(arg)]
        if len(a) > 2:
            raise gdb.GdbError("usage: smm-log [N [K]]")
        vcpus, k, _ = snapshot()
        cpus = [a[0]] if a else list(range(k.ncpus))
        count = a[1] if len(a) > 1 else (RING if a else 4)
        with on_thread(kernel_reader(vcpus)):
            comm = ksym("smm_comm")
            for n in cpus:
                if not 0 <= n < 64:
                    raise gdb.GdbError("no CPU %d" % n)
                cc = comm["cpu"][n]
                entries, rc = int(cc["entries"]), int(cc["rec_count"])
                print("cpu %d: %d SMM entries, %d records complete%s" %
                      (n, entries, rc, "; in SMM now" if int(cc["in_smm"]) else ""))
                if entries == 0:
                    continue
                print("  seq    event  role      policy   flags        smbase      cmd"
                      "             st  waited  pulled  missing  wait-tsc")
                first = max(1, entries - count + 1, entries - RING + 1)
                for e in range(first, entries + 1):
                    r = cc["ring"][(e - 1) % RING]
                    seq = int(r["seq"])
                    if seq != e:
                        print("  %-6d (overwritten: ring holds seq %d)" % (e, seq))
                        continue
                    print("  %-6d %-6d %-9s %-8s %-12s 0x%08x  %-15s %-3d %-7s %-7s %-8s %d%s" % (
                        seq, int(r["event"]), enum_name("enum smm_role", r["role"]),
                        enum_name("enum rdv_policy", r["policy"]), _flags(int(r["flags"])),
                        int(r["smbase"]), _cmd(int(r["cmd_id"])), int(r["cmd_status"]),
                        _cpuset(r["waited"]), _cpuset(r["pulled"]),
                        _cpuset(r["missing"]), int(r["wait_tsc"]),
                        "  (in progress)" if e > rc else ""))


class SmmLayout(gdb.Command):
    """smm-layout: the SMRAM layout the kernel computed (smm.layout): every
CPU's SMBASE, its 64 KiB window, entry stub (SMBASE + 0x8000: the linear
address to 'hbreak *' for the stub), save state (SMBASE + 0xFE00) and SMM
stack; the image, page tables, synchbyte areas and the overlap of all
windows; and the SMM state flags."""

    def __init__(self):
        super().__init__("smm-layout", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        vcpus, k, _ = snapshot()
        with on_thread(kernel_reader(vcpus)):
            smm = ksym("smm")
            L = smm["layout"]
            g = lambda f: int(L[f])
            n = g("ncpus")
            print("smm: ready=%d region=%s closed=%d locked=%d fsmbase_locked=%d backend=%s"
                  " apm_broadcast=%d image_phys=0x%x image_mem=0x%x" % (
                      int(smm["ready"]), enum_name("enum smram_region", smm["region"]),
                      int(smm["closed"]), int(smm["locked"]), int(smm["fsmbase_locked"]),
                      enum_name("enum synch_backend", smm["backend"]), int(smm["apm_broadcast"]),
                      int(smm["image_phys"]), int(smm["image_mem"])))
            why = smm["why_not"].string()
            if why:
                print("smm: why not: %s" % why)
            if n == 0:
                print("smm.layout: not computed yet (smm_setup has not run)")
                return
            print("SMRAM [0x%x, 0x%x)  ncpus %d  stride 0x%x  overlap of all windows [0x%x, 0x%x)" % (
                g("smram_base"), g("smram_base") + g("smram_size"), n, g("stride"),
                g("overlap_lo"), g("overlap_hi")))
            print("cpu  smbase      window                     stub (entry)  save        stack"
                  "       relocated-from")
            for i in range(n):
                sb = int(L["smbase"][i])
                print("%-4d 0x%08x  [0x%08x,0x%08x)  0x%08x    0x%08x  0x%08x  %s" % (
                    i, sb, sb, sb + 0x10000, int(L["stub"][i]), int(L["save"][i]),
                    int(L["stack"][i]),
                    "0x%x" % int(smm["reloc_old"][i]) if bool(smm["relocated"][i]) else "-"))
            print("sizes: stub 0x%x  save 0x%x  stack 0x%x" % (
                g("stub_size"), g("save_size"), g("stack_size")))
            print("image 0x%x+0x%x (virtual 0x%x)  page tables 0x%x+0x%x" % (
                g("image"), g("image_size"), IMAGE_VBASE, g("pt"), g("pt_size")))
            print("sync: mem 0x%x  smram 0x%x  stride %d  size %d" % (
                g("synch_mem"), g("synch_smram"), g("synch_stride"), g("synch_size")))


class Phys(gdb.Command):
    """phys [on|off]: make gdb's memory accesses physical (on) or virtual
through the selected vCPU's page tables (off): maint packet
Qqemu.PhyMemMode:1/0. Without an argument, shows the mode. The physical
view is QEMU's address_space_memory: it never shows SMRAM (the non-SMM
view), whatever the vCPU."""

    def __init__(self):
        super().__init__("phys", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        a = arg.strip()
        if a not in ("", "on", "off"):
            raise gdb.GdbError("usage: phys [on|off]")
        if a:
            out = gdb.execute("maint packet Qqemu.PhyMemMode:%d" % (a == "on"), to_string=True)
            if '"OK"' not in out:
                raise gdb.GdbError("QEMU refused PhyMemMode: %s" % out.strip())
        out = gdb.execute("maint packet qqemu.PhyMemMode", to_string=True)
        m = re.search(r'received: "(\d)"', out)
        mode = m.group(1) if m else "?"
        print("gdb memory accesses are %s" % {"1": "physical (no SMRAM view)",
                                            "0": "virtual (selected vCPU's paging and SMM view)"}
              .get(mode, "unknown (%s)" % out.strip()))


# ---------------------------------------------------------------- disassembly in any mode

def disassemble(addr, count, bits):
    """Decode count instructions at linear addr as 16/32/64-bit code with
    objdump: gdb's own disassembler follows QEMU's 64-bit target description,
    and 'set architecture i8086' does not change that."""
    data = None
    for n in (count * 15, 64, 16):
        try:
            data = read_mem(addr, n)
            break
        except gdb.MemoryError:
            continue
    if data is None:
        raise gdb.GdbError("cannot read memory at 0x%x" % addr)
    mach = {16: "i8086", 32: "i386", 64: "i386:x86-64"}[bits]
    flavor = gdb.parameter("disassembly-flavor")
    with tempfile.NamedTemporaryFile(suffix=".bin") as f:
        f.write(data)
        f.flush()
        cmd = ["objdump", "-D", "-b", "binary", "-m", mach, "--adjust-vma=0x%x" % addr]
        if flavor == "intel":
            cmd += ["-M", "intel"]
        try:
            out = subprocess.run(cmd + [f.name], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            raise gdb.GdbError("objdump failed: %s" % e)
    lines = [l for l in out.splitlines() if re.match(r"\s*[0-9a-f]+:\t", l)]
    for l in lines[:count]:
        print("   " + l.strip())


def _cur_vcpu():
    t = gdb.selected_thread()
    if t is None:
        raise gdb.GdbError("no thread selected (not connected?)")
    return VCpu(t, _monitor_regs())


class XiCmd(gdb.Command):
    def __init__(self, name, bits):
        self.bits = bits
        self.__doc__ = ("%s [ADDR [N]]: decode N (default 8) instructions at linear ADDR "
                        "(default: the selected vCPU's CS base + EIP) as %d-bit code "
                        "(objdump)." % (name, bits))
        super().__init__(name, gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        a = [int(gdb.parse_and_eval(x)) for x in gdb.string_to_argv(arg)]
        addr = a[0] if a else _cur_vcpu().linear
        disassemble(addr, a[1] if len(a) > 1 else 8, self.bits)


class Xpc(gdb.Command):
    """xpc [N]: decode N (default 8) instructions at the selected vCPU's
linear pc (CS base + EIP) in its current mode (real/16-bit, 32-bit or
64-bit, from CR0.PE, EFER.LMA and the CS descriptor QEMU reports)."""

    def __init__(self):
        super().__init__("xpc", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        a = [int(gdb.parse_and_eval(x)) for x in gdb.string_to_argv(arg)]
        v = _cur_vcpu()
        print("[%04x:%x] linear 0x%x, %s%s" % (v.cs, v.ip, v.linear, v.mode,
                                                ", SMM" if v.smm else ""))
        disassemble(v.linear, a[0] if a else 8, _bits(v.mode))


_realmode_on = False


def _on_stop(event):
    try:
        v = _cur_vcpu()
        if v.mode == "long" and not v.smm:
            return
        print("[%04x:%x] linear 0x%x (%s%s)" % (v.cs, v.ip, v.linear, v.mode,
                                                ", SMM" if v.smm else ""))
        disassemble(v.linear, 1, _bits(v.mode))
    except (gdb.error, gdb.GdbError) as e:
        print("realmode: %s" % e)


class RealMode(gdb.Command):
    """realmode [on|off]: on every stop of a vCPU that is not in 64-bit
mode, print [cs:ip], the linear address (CS base + EIP) and the instruction
there decoded for the vCPU's mode (xpc 1). Use for the AP trampoline
(hbreak *0x8000) and the SMM entry stub (hbreak *<stub> from smm-layout).

gdb cannot switch to i8086 itself here: qemu-system-x86_64 sends a 64-bit
target description, which wins over 'set architecture i8086', and a tdesc
for i8086 would need QEMU's gdb-xml/i386-32bit.xml, which Debian's QEMU
does not install (it is built into the binary) and whose 32-bit register
block would not match the 64-bit 'g' packet anyway. So the decoding is done
by objdump on the bytes gdb reads; $pc is EIP (not linear), so use linear
addresses: x/8xb $cs*16+$pc in real mode, the CS base from 'smm-cpus' in
the SMM stub (its CS selector is SMBASE>>4 truncated to 16 bits)."""

    def __init__(self):
        super().__init__("realmode", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        global _realmode_on
        a = arg.strip() or ("off" if _realmode_on else "on")
        if a not in ("on", "off"):
            raise gdb.GdbError("usage: realmode [on|off]")
        if a == "on" and not _realmode_on:
            gdb.events.stop.connect(_on_stop)
        elif a == "off" and _realmode_on:
            gdb.events.stop.disconnect(_on_stop)
        _realmode_on = a == "on"
        print("realmode display %s" % a)
        if _realmode_on and gdb.selected_thread() is not None:
            _on_stop(None)


class SmmHelp(gdb.Command):
    """smm-help: list the smmsync gdb helpers."""

    def __init__(self):
        super().__init__("smm-help", gdb.COMMAND_SUPPORT)

    def invoke(self, arg, from_tty):
        for c, what in (
                ("smm-cpus", "every vCPU: kernel CPU, APIC ID, state, SMM?, mode, linear pc, where"),
                ("smm-savestate N [smram|kernel]", "decode CPU N's save state (AMD64/32-bit map)"),
                ("smm-synch", "every CPU's synchbyte; the current backend"),
                ("smm-log [N [K]]", "the last K SMM event records of CPU N (every CPU)"),
                ("smm-layout", "smm.layout: SMBASEs, stubs, save states, stacks, synch areas"),
                ("phys [on|off]", "physical memory accesses (Qqemu.PhyMemMode; never SMRAM)"),
                ("realmode [on|off]", "on each stop: [cs:ip], linear pc, instruction in its mode"),
                ("xpc [N]", "N instructions at the linear pc, in the vCPU's mode"),
                ("xi16/xi32/xi64 [ADDR [N]]", "N instructions at linear ADDR as 16/32/64-bit")):
            print("%-31s %s" % (c, what))
        print("help <command> for details; docs/DEBUGGING.md for a worked example")


SmmCpus()
SmmSaveState()
SmmSynch()
SmmLog()
SmmLayout()
Phys()
Xpc()
XiCmd("xi16", 16)
XiCmd("xi32", 32)
XiCmd("xi64", 64)
RealMode()
SmmHelp()
