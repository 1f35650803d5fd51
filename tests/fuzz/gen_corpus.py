#!/usr/bin/env python3
"""tests/fuzz/gen_corpus.py - write the seed corpora in tests/fuzz/corpus/.

    python3 tests/fuzz/gen_corpus.py

Rewrites the generated seeds (files named seed-*) of every target; other
files there (crash-* reproducers) are left alone.  The input formats are
described at the top of each tests/fuzz/fuzz_*.c.  The seeds are small
valid inputs plus a few edge cases; the fuzzer mutates from them.
"""
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


# ---- multiboot2 (lib/mb2.c) ----------------------------------------------

def mb2_tag(ttype, payload, pad=True):
    t = u32(ttype) + u32(8 + len(payload)) + payload
    return pad8(t) if pad else t


def mb2_info(tags, total=None, reserved=0, end=True):
    body = b"".join(tags) + (mb2_tag(0, b"") if end else b"")
    size = 8 + len(body)
    return u32(size if total is None else total) + u32(reserved) + body


def mb2_mmap(entries, esize=24, version=0):
    p = u32(esize) + u32(version)
    for addr, length, etype in entries:
        e = u64(addr) + u64(length) + u32(etype) + u32(0)
        p += e + b"\xee" * (esize - len(e))
    return mb2_tag(6, p)


def rsdp(rev, rsdt=0, xsdt=0, oem=b"SMMSYN"):
    """ACPI RSDP: 20 bytes for revision 0, 36 bytes from revision 2."""
    r = bytearray(b"RSD PTR " + b"\0" + oem.ljust(6)[:6] + bytes([rev]) + u32(rsdt))
    r[8] = (-sum(r[:20])) & 0xFF
    if rev < 2:
        return bytes(r)
    r += u32(36) + u64(xsdt) + b"\0\0\0\0"
    r[32] = (-sum(r[:36])) & 0xFF
    return bytes(r)


QEMU_MMAP = [(0x0, 0x9FC00, 1), (0x9FC00, 0x400, 2), (0xF0000, 0x10000, 2),
             (0x100000, 0x7EE0000, 1), (0x7FE0000, 0x20000, 2),
             (0xFFFC0000, 0x40000, 2)]


def mb2_seeds():
    cmdline = mb2_tag(1, b"console=ttyS0 smp=4 tests=smm_*,rdv-? policy=patent\0")
    loader = mb2_tag(2, b"GRUB 2.06-13+deb12u1\0")
    meminfo = mb2_tag(4, u32(639) + u32(130048))
    bootdev = mb2_tag(5, u32(0xE0) + u32(0xFFFFFFFF) + u32(0xFFFFFFFF))
    old = mb2_tag(14, rsdp(0, rsdt=0x7FE1234))
    new = mb2_tag(15, rsdp(2, rsdt=0x7FE1234, xsdt=0x7FE1300))
    s = {}
    s["minimal"] = mb2_info([])
    s["qemu-like"] = mb2_info([cmdline, loader, meminfo, bootdev,
                               mb2_mmap(QEMU_MMAP), old, new])
    s["new-then-old"] = mb2_info([new, old, cmdline])
    s["mmap-esize32-v1"] = mb2_info([mb2_mmap(QEMU_MMAP, esize=32, version=1)])
    s["mmap-128"] = mb2_info([mb2_mmap([(i << 20, 1 << 20, 1 + i % 5)
                                        for i in range(128)])])
    s["mmap-129"] = mb2_info([mb2_mmap([(i << 20, 1 << 20, 1)
                                        for i in range(129)])])
    s["long-cmdline"] = mb2_info([mb2_tag(1, b"x" * 1500 + b"\0"),
                                  mb2_tag(2, b"L" * 100 + b"\0")])
    s["rsdp-v2-long"] = mb2_info([mb2_tag(15, rsdp(2, xsdt=0x1000) + b"\xaa" * 40)])
    s["unknown-tags"] = mb2_info([mb2_tag(0x1234, b"abc"), mb2_tag(21, u32(0x200000)),
                                  mb2_tag(8, b"\0" * 30)])
    # Edge cases the parser must refuse.
    s["no-end"] = mb2_info([cmdline], end=False)
    s["last-unpadded"] = mb2_info([mb2_tag(2, b"GRUB\0", pad=False)], end=False)
    s["total-too-big"] = mb2_info([cmdline], total=0x1000)
    s["reserved-nonzero"] = mb2_info([], reserved=1)
    s["cmdline-unterminated"] = mb2_info([mb2_tag(1, b"console=ttyS0")])
    s["dup-cmdline"] = mb2_info([cmdline, cmdline])
    s["dup-rsdp-old"] = mb2_info([old, old])
    s["rsdp-short"] = mb2_info([mb2_tag(15, rsdp(0))])
    s["rsdp-badsig"] = mb2_info([mb2_tag(14, b"RSD PTX " + rsdp(0)[8:])])
    s["end-size-16"] = mb2_info([u32(0) + u32(16) + b"\0" * 8], end=False)
    s["trailing-junk"] = mb2_info([cmdline]) + b"\x55" * 24
    return s


# ---- ACPI (drivers/acpi_tables.c) ------------------------------------------------

MEM_BASE = 0x1000
HIGH_BASE = 0xFFFFFFFFFFFF0000   # fuzz_acpi.c mirrors the memory there too


def sdt(sig, body, rev=1, length=None, fix=True):
    t = bytearray(sig + u32(0) + bytes([rev, 0]) + b"SMMSYN" + b"SMMSYNC " +
                  u32(1) + b"SMMS" + u32(1) + body)
    t[4:8] = u32(len(t) if length is None else length)
    if fix:
        t[9] = (-sum(t)) & 0xFF
    return bytes(t)


def madt(entries, lapic=0xFEE00000, flags=1):
    return sdt(b"APIC", u32(lapic) + u32(flags) + b"".join(entries), rev=5)


def lapic(uid, apic_id, flags=1):
    return bytes([0, 8, uid, apic_id]) + u32(flags)


def ioapic(ioid, addr=0xFEC00000, gsi=0):
    return bytes([1, 12, ioid, 0]) + u32(addr) + u32(gsi)


def x2apic(apic_id, uid, flags=1):
    return bytes([9, 16, 0, 0]) + u32(apic_id) + u32(flags) + u32(uid)


def lapic_override(addr):
    return bytes([5, 12, 0, 0]) + u64(addr)


def gas(space, width, addr):
    return bytes([space, width, 0, 3]) + u64(addr)


def fadt(v2=True, smi_cmd=0xB2, pm_tmr=0x608, pm1a_cnt=0x604, x_tmr=None):
    b = bytearray(244 - 36 if v2 else 116 - 36)

    def put(off, data):
        b[off - 36:off - 36 + len(data)] = data

    put(36, u32(0x7FE2000))        # FIRMWARE_CTRL
    put(40, u32(0x7FE3000))        # DSDT
    put(46, struct.pack("<H", 9))  # SCI_INT
    put(48, u32(smi_cmd))
    put(52, bytes([0xF1, 0xF0]))   # ACPI_ENABLE / ACPI_DISABLE
    put(56, u32(0x600))            # PM1a_EVT_BLK
    put(64, u32(pm1a_cnt))
    put(76, u32(pm_tmr))
    put(88, bytes([4, 2, 0, 4]))   # PM1_EVT_LEN PM1_CNT_LEN PM2_CNT_LEN PM_TMR_LEN
    put(112, u32(1 << 8))          # Flags: TMR_VAL_EXT
    if v2:
        put(172, gas(1, 16, pm1a_cnt))
        put(208, x_tmr if x_tmr is not None else gas(1, 32, pm_tmr))
    return sdt(b"FACP", bytes(b), rev=3 if v2 else 1)


class Mem:
    """Tables laid out from MEM_BASE, each 16-byte aligned."""

    def __init__(self):
        self.data = bytearray()

    def add(self, table):
        addr = MEM_BASE + len(self.data)
        self.data += table + b"\0" * (-len(table) % 16)
        return addr

    def place(self, addr, table):
        off = addr - MEM_BASE
        self.data[off:off + len(table)] = table


def acpi_image(rsdp_bytes, mem, rsdp_len=None, sig=0, errlen=160, racy=0):
    n = len(rsdp_bytes) if rsdp_len is None else rsdp_len
    return bytes([n, sig, errlen, racy]) + rsdp_bytes.ljust(36, b"\0") + bytes(mem.data)


def acpi_machine(xsdt=False, madt_t=None, fadt_t=None, extra=(), root_fix=True,
                 high=False):
    """RSDT (or XSDT) first, pointing at the MADT, the FADT and extra (at
    their HIGH_BASE alias if high)."""
    m = Mem()
    tables = [madt_t if madt_t is not None else
              madt([lapic(0, 0), lapic(1, 1), lapic(2, 2), lapic(3, 3),
                    ioapic(0)]),
              fadt_t if fadt_t is not None else fadt()] + list(extra)
    esize = 8 if xsdt else 4
    name = b"XSDT" if xsdt else b"RSDT"
    root_len = 36 + esize * len(tables)
    root_addr = m.add(b"\0" * root_len)
    addrs = [m.add(t) - MEM_BASE + (HIGH_BASE if high else MEM_BASE)
             for t in tables]
    body = b"".join(u64(a) if xsdt else u32(a) for a in addrs)
    m.place(root_addr, sdt(name, body, fix=root_fix))
    r = rsdp(2, rsdt=0, xsdt=root_addr) if xsdt else rsdp(0, rsdt=root_addr)
    return r, m


def acpi_seeds():
    hpet = sdt(b"HPET", u32(0x8086A201) + gas(0, 64, 0xFED00000) + b"\0\0\0")
    s = {}
    r, m = acpi_machine()
    s["rsdt-madt"] = acpi_image(r, m, sig=0)
    s["rsdt-fadt"] = acpi_image(r, m, sig=1)
    s["rsdt-notfound"] = acpi_image(r, m, sig=2, errlen=0)
    r, m = acpi_machine(xsdt=True, extra=[hpet])
    s["xsdt-madt"] = acpi_image(r, m, sig=0)
    s["xsdt-fadt"] = acpi_image(r, m, sig=1, errlen=17)
    s["xsdt-hpet"] = acpi_image(r, m, sig=2)
    s["xsdt-rsdplen-20"] = acpi_image(r, m, rsdp_len=20, sig=0)
    big = madt([lapic(0, 0), x2apic(0x100, 1), lapic(2, 0, flags=0),
                lapic(3, 0, flags=0), x2apic(7, 4, flags=2), ioapic(0),
                ioapic(1, 0xFEC01000, 24), lapic_override(0xFEE00000),
                bytes([2, 10, 0, 0]) + u32(2) + b"\0\0",   # interrupt override
                bytes([4, 6, 0xFF, 5, 0, 1])])              # local APIC NMI
    r, m = acpi_machine(madt_t=big, fadt_t=fadt(v2=False))
    s["rsdt-madt-mixed"] = acpi_image(r, m, sig=0)
    s["rsdt-fadt-v1"] = acpi_image(r, m, sig=1)
    r, m = acpi_machine(root_fix=False)
    s["rsdt-badsum"] = acpi_image(r, m, sig=0)
    # Tables in the mirror below 2^64: one whose Length runs past 2^64.
    r, m = acpi_machine(xsdt=True, high=True,
                        madt_t=sdt(b"APIC", b"\0" * 8, length=0x20000))
    s["xsdt-high-wrap"] = acpi_image(r, m, sig=0)
    r, m = acpi_machine(xsdt=True, high=True)
    s["xsdt-high-fadt"] = acpi_image(r, m, sig=1)
    # Tables rewritten between the header mapping and the full one.
    r, m = acpi_machine()
    s["racy-length"] = acpi_image(r, m, sig=0, racy=1 | 4 << 1)
    s["racy-body"] = acpi_image(r, m, sig=1, racy=1 | 60 << 1)
    r, m = acpi_machine(madt_t=madt([lapic(0, 0), lapic(1, 0)]))
    s["madt-dup"] = acpi_image(r, m, sig=0)
    # Raw tables (the direct acpi_parse_madt / acpi_parse_fadt path).
    s["raw-madt"] = madt([lapic(0, 0), x2apic(1, 1), ioapic(0)])
    s["raw-madt-override-high"] = madt([lapic_override(0x1FEE00000)])
    s["raw-madt-256"] = madt([x2apic(i, i) for i in range(257)])
    s["raw-fadt"] = fadt(x_tmr=gas(1, 32, 0x1608))
    s["raw-fadt-v1"] = fadt(v2=False)
    return s


# ---- SMM commands (smm/cmd.c) --------------------------------------------------

BUF = 0x7F00000 + 0x80      # comm area + offsetof(buf)
SMRAM, SMRAM_SIZE = 0x7F800000, 0x800000


def cmd_input(mode=0, buf=BUF, buf_len=4096, sbase=SMRAM, ssize=SMRAM_SIZE,
              ncpus=4, op=0, cid=0, policy=1, args=(0, 0, 0, 0), larg=0,
              rp=0, rlen=0):
    b = bytes([mode]) + b"\0" * 7 + u64(buf) + u64(buf_len) + u64(sbase) + \
        u64(ssize) + u32(ncpus) + u32(op) + u32(1) + u32(cid) + u32(policy) + \
        u32(0) + b"".join(u64(a) for a in args) + u64(larg) + u64(rp) + u64(rlen)
    assert len(b) == 120
    return b


def cmd_seeds():
    s = {}
    s["nop"] = cmd_input(cid=1, policy=0)
    s["ping"] = cmd_input(cid=2, policy=2)
    s["copy-in-whole"] = cmd_input(cid=4, args=(BUF, 4096, 0, 0), rp=BUF, rlen=4096)
    s["copy-out-end"] = cmd_input(mode=1 | 3 << 2, cid=9, args=(4095, 1, 0, 0),
                                  rp=4000, rlen=96)
    s["copy-in-smram"] = cmd_input(mode=2, cid=4, args=(0, 4096, 0, 0), rp=0x10,
                                   rlen=16, buf=SMRAM, buf_len=SMRAM_SIZE)
    s["copy-wrap"] = cmd_input(cid=9, args=(2**64 - 16, 32, 0, 0),
                               rp=2**64 - 16, rlen=32)
    s["set-backend"] = cmd_input(cid=5, args=(2, 0, 0, 0))
    s["set-timeouts"] = cmd_input(cid=6, args=(1, 10000000, 1000, 10000001))
    s["write-synch"] = cmd_input(cid=8, args=(3, 0xA5, 0, 0))
    s["probe"] = cmd_input(cid=10, args=(1, 0xDEADBEEF, 0, 0))
    s["bad-policy"] = cmd_input(cid=1, policy=3)
    # Per-CPU service calls.
    s["local-smbase"] = cmd_input(mode=2, op=3, larg=2**64 - 0x8000)
    s["local-smbase-top"] = cmd_input(mode=3, op=3, larg=2**64 - 0x10000)
    s["local-smbase-32"] = cmd_input(mode=0x10 | 2, op=3, larg=0x10000,
                                     sbase=0xFFFF0000, ssize=0x10000)
    s["local-synch"] = cmd_input(op=1, larg=0x5A)
    s["local-hold"] = cmd_input(op=4, larg=10000000)
    s["local-msr"] = cmd_input(op=5, larg=0x1B)
    s["local-raw"] = cmd_input(op=6, larg=0x100)
    s["local-smbase-any"] = cmd_input(mode=0x20 | 3, op=3, larg=2**64 - 0x10000,
                                      sbase=2**64 - 2**32, ssize=2**32 - 1)
    return s


# ---- command line (lib/cmdline.c) -----------------------------------------------

def cmdline_seeds():
    s = {}
    s["get"] = b"\x40smp\0console=ttyS0 smp=4 smp=0x10 quiet"
    s["get-bare"] = b"\x08quiet\0console=ttyS0\tquiet\r\nquietx=1"
    s["get-trunc"] = b"\x04console\0console=ttyS0,115200"
    s["get-vallen0"] = b"\x00console\0console=ttyS0"
    s["glob"] = b"\x10smm_*,rdv-?,,*cmd*\0smm_cmd_copy"
    s["glob-stars"] = b"\x10a*b*c*d*e\0aXbXcXdXe"
    s["u64-max"] = b"\x400xFFFFFFFFFFFFFFFF\x0018446744073709551615"
    s["u64-over"] = b"\x400x10000000000000000\x0018446744073709551616"
    s["u64-key"] = b"\x40hold\0hold=0x1234 hold=007"
    return s


TARGETS = {"mb2": mb2_seeds, "acpi": acpi_seeds, "cmd": cmd_seeds,
           "cmdline": cmdline_seeds}


def main():
    for target, gen in TARGETS.items():
        d = os.path.join(ROOT, target)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.startswith("seed-"):
                os.remove(os.path.join(d, f))
        seeds = gen()
        for name, data in seeds.items():
            with open(os.path.join(d, "seed-" + name), "wb") as fh:
                fh.write(data)
        print(f"{target}: {len(seeds)} seeds in {os.path.relpath(d)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
