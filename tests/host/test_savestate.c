/*
 * test_savestate.c - the save-state map accessors, byte by byte, against
 * offset tables written here from the AMD64 map (revision 0x00020064,
 * AMD APM vol. 2 table 10-2, as QEMU writes it) and the 32-bit map
 * (revision 0x00020000, SDM vol. 3C table 34-1 as QEMU writes it).
 * Offsets are from SMBASE + 0xFE00, the start of the 512-byte image.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "smm/savestate.h"

#define SS_BYTES 512
#define REV_OFF  0xFC

struct loc {
    enum ss_field f;
    uint16_t off;
    uint8_t size;
};

/* ---- the tables ---------------------------------------------------------- */

static const struct loc amd64_map[] = {
    /* Segment registers: selector +0 (2 bytes), attributes +2 (2),
     * limit +4 (4), base +8 (8); ES, CS, SS, DS, FS, GS 0x10 apart. */
    { SS_ES_SEL, 0x00, 2 }, { SS_ES_ATTR, 0x02, 2 }, { SS_ES_LIMIT, 0x04, 4 }, { SS_ES_BASE, 0x08, 8 },
    { SS_CS_SEL, 0x10, 2 }, { SS_CS_ATTR, 0x12, 2 }, { SS_CS_LIMIT, 0x14, 4 },
    { SS_CS_BASE, 0x18, 8 },
    { SS_SS_SEL, 0x20, 2 }, { SS_SS_ATTR, 0x22, 2 }, { SS_SS_LIMIT, 0x24, 4 }, { SS_SS_BASE, 0x28, 8 },
    { SS_DS_SEL, 0x30, 2 }, { SS_DS_ATTR, 0x32, 2 }, { SS_DS_LIMIT, 0x34, 4 }, { SS_DS_BASE, 0x38, 8 },
    { SS_FS_SEL, 0x40, 2 }, { SS_FS_ATTR, 0x42, 2 }, { SS_FS_LIMIT, 0x44, 4 }, { SS_FS_BASE, 0x48, 8 },
    { SS_GS_SEL, 0x50, 2 }, { SS_GS_ATTR, 0x52, 2 }, { SS_GS_LIMIT, 0x54, 4 }, { SS_GS_BASE, 0x58, 8 },
    /* LDTR and TR selectors, laid out like a segment at 0x70 and 0x90. */
    { SS_LDTR_SEL, 0x70, 2 }, { SS_TR_SEL, 0x90, 2 },
    { SS_GDTR_LIMIT, 0x64, 4 }, { SS_GDTR_BASE, 0x68, 8 },
    { SS_IDTR_LIMIT, 0x84, 4 }, { SS_IDTR_BASE, 0x88, 8 },
    { SS_EFER, 0xD0, 8 },
    { SS_REVISION, 0xFC, 4 },
    { SS_SMBASE, 0x100, 4 },
    { SS_CR4, 0x148, 8 }, { SS_CR3, 0x150, 8 }, { SS_CR0, 0x158, 8 },
    { SS_DR7, 0x160, 8 }, { SS_DR6, 0x168, 8 },
    { SS_RFLAGS, 0x170, 8 }, { SS_RIP, 0x178, 8 },
    { SS_R15, 0x180, 8 }, { SS_R14, 0x188, 8 }, { SS_R13, 0x190, 8 },
    { SS_R12, 0x198, 8 }, { SS_R11, 0x1A0, 8 }, { SS_R10, 0x1A8, 8 },
    { SS_R9, 0x1B0, 8 }, { SS_R8, 0x1B8, 8 },
    { SS_RDI, 0x1C0, 8 }, { SS_RSI, 0x1C8, 8 }, { SS_RBP, 0x1D0, 8 },
    { SS_RSP, 0x1D8, 8 }, { SS_RBX, 0x1E0, 8 }, { SS_RDX, 0x1E8, 8 },
    { SS_RCX, 0x1F0, 8 }, { SS_RAX, 0x1F8, 8 },
};

static const struct loc ia32_map[] = {
    { SS_CR0, 0x1FC, 4 }, { SS_CR3, 0x1F8, 4 }, { SS_RFLAGS, 0x1F4, 4 },
    { SS_RIP, 0x1F0, 4 }, { SS_RDI, 0x1EC, 4 }, { SS_RSI, 0x1E8, 4 },
    { SS_RBP, 0x1E4, 4 }, { SS_RSP, 0x1E0, 4 }, { SS_RBX, 0x1DC, 4 },
    { SS_RDX, 0x1D8, 4 }, { SS_RCX, 0x1D4, 4 }, { SS_RAX, 0x1D0, 4 },
    { SS_DR6, 0x1CC, 4 }, { SS_DR7, 0x1C8, 4 },
    /* Selectors ES..GS at 0x1A8 + 4i. */
    { SS_ES_SEL, 0x1A8, 4 }, { SS_CS_SEL, 0x1AC, 4 }, { SS_SS_SEL, 0x1B0, 4 },
    { SS_DS_SEL, 0x1B4, 4 }, { SS_FS_SEL, 0x1B8, 4 }, { SS_GS_SEL, 0x1BC, 4 },
    /* Descriptor caches: +0 attributes, +4 limit, +8 base. */
    { SS_ES_ATTR, 0x184, 4 }, { SS_ES_LIMIT, 0x184 + 4, 4 }, { SS_ES_BASE, 0x184 + 8, 4 },
    { SS_CS_ATTR, 0x190, 4 }, { SS_CS_LIMIT, 0x190 + 4, 4 }, { SS_CS_BASE, 0x190 + 8, 4 },
    { SS_SS_ATTR, 0x19C, 4 }, { SS_SS_LIMIT, 0x19C + 4, 4 }, { SS_SS_BASE, 0x19C + 8, 4 },
    { SS_DS_ATTR, 0x12C, 4 }, { SS_DS_LIMIT, 0x12C + 4, 4 }, { SS_DS_BASE, 0x12C + 8, 4 },
    { SS_FS_ATTR, 0x138, 4 }, { SS_FS_LIMIT, 0x138 + 4, 4 }, { SS_FS_BASE, 0x138 + 8, 4 },
    { SS_GS_ATTR, 0x144, 4 }, { SS_GS_LIMIT, 0x144 + 4, 4 }, { SS_GS_BASE, 0x144 + 8, 4 },
    /* LDTR and TR selectors after GS's. */
    { SS_LDTR_SEL, 0x1C0, 4 }, { SS_TR_SEL, 0x1C4, 4 },
    { SS_GDTR_BASE, 0x174, 4 }, { SS_GDTR_LIMIT, 0x170, 4 },
    { SS_IDTR_BASE, 0x158, 4 }, { SS_IDTR_LIMIT, 0x154, 4 },
    { SS_CR4, 0x114, 4 },
    { SS_SMBASE, 0xF8, 4 },
    { SS_REVISION, 0xFC, 4 },
};

/* Not in the 32-bit map. */
static const enum ss_field ia32_absent[] = {
    SS_R8, SS_R9, SS_R10, SS_R11, SS_R12, SS_R13, SS_R14, SS_R15, SS_EFER,
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct map {
    const char *name;
    uint32_t rev;
    enum ss_map id;
    const struct loc *loc;
    unsigned n;
};

static const struct map maps[] = {
    { "amd64", 0x00020064, SS_MAP_AMD64, amd64_map, N(amd64_map) },
    { "ia32", 0x00020000, SS_MAP_IA32, ia32_map, N(ia32_map) },
};

static const struct loc *find(const struct map *m, enum ss_field f)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->loc[i].f == f)
            return &m->loc[i];
    return NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static void put_le(uint8_t *p, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

static void blank(uint8_t *ss, uint8_t fill, uint32_t rev)
{
    memset(ss, fill, SS_BYTES);
    put_le(ss + REV_OFF, rev, 4);
}

/* A value whose 8 bytes all differ from each other and from the fill. */
static uint64_t pattern(unsigned f)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)(0x11 * (i + 1) + f) << (8 * i);
    return v;
}

/* ---- the tables themselves ---------------------------------------------- */

static void test_tables_consistent(void **state)
{
    (void)state;
    for (unsigned m = 0; m < N(maps); m++) {
        const struct map *mp = &maps[m];

        for (unsigned i = 0; i < mp->n; i++) {
            const struct loc *a = &mp->loc[i];

            assert_true(a->off + a->size <= SS_BYTES);
            assert_true(a->size == 2 || a->size == 4 || a->size == 8);
            for (unsigned j = 0; j < i; j++) {
                const struct loc *b = &mp->loc[j];

                assert_int_not_equal(a->f, b->f);
                if (a->off < b->off + b->size && b->off < a->off + a->size)
                    fail_msg("%s: %s and %s overlap", mp->name,
                         ss_field_name(a->f), ss_field_name(b->f));
            }
        }
    }
    /* AMD64: every field; 32-bit: every field but R8-R15 and EFER. */
    assert_int_equal(N(amd64_map), SS_FIELD_COUNT);
    assert_int_equal(N(ia32_map) + N(ia32_absent), SS_FIELD_COUNT);
    for (unsigned i = 0; i < N(ia32_absent); i++)
        assert_null(find(&maps[1], ia32_absent[i]));
}

/* ---- set: exactly the right bytes change --------------------------------- */

static void test_set_exact_bytes(void **state)
{
    uint8_t ss[SS_BYTES], want[SS_BYTES];

    (void)state;
    for (unsigned m = 0; m < N(maps); m++) {
        const struct map *mp = &maps[m];

        for (unsigned i = 0; i < mp->n; i++) {
            const struct loc *l = &mp->loc[i];
            uint64_t v = pattern(l->f), got = 0;

            if (l->f == SS_REVISION)
                continue;
            blank(ss, 0xEE, mp->rev);
            assert_int_equal(ss_map_of(ss), mp->id);
            memcpy(want, ss, SS_BYTES);
            put_le(want + l->off, v, l->size);
            if (!ss_set(ss, l->f, v))
                fail_msg("%s: ss_set(%s) refused", mp->name, ss_field_name(l->f));
            for (unsigned b = 0; b < SS_BYTES; b++)
                if (ss[b] != want[b])
                    fail_msg("%s: ss_set(%s): byte 0x%x is 0x%02x, expected 0x%02x "
                         "(field at 0x%x, %u bytes)", mp->name,
                         ss_field_name(l->f), b, ss[b], want[b], l->off, l->size);
            assert_true(ss_get(ss, l->f, &got));
            assert_int_equal(got, v & mask(l->size));
        }
    }
}

/* ---- get: reads exactly the right bytes ---------------------------------- */

static void test_get_exact_bytes(void **state)
{
    uint8_t ss[SS_BYTES];

    (void)state;
    for (unsigned m = 0; m < N(maps); m++) {
        const struct map *mp = &maps[m];

        for (unsigned b = 0; b < SS_BYTES; b++)
            ss[b] = (uint8_t)(b * 7 + 3 + (b >> 8));
        put_le(ss + REV_OFF, mp->rev, 4);
        for (unsigned i = 0; i < mp->n; i++) {
            const struct loc *l = &mp->loc[i];
            uint64_t got = 0;

            assert_true(ss_get(ss, l->f, &got));
            if (got != get_le(ss + l->off, l->size))
                fail_msg("%s: ss_get(%s) = 0x%llx, bytes at 0x%x hold 0x%llx",
                     mp->name, ss_field_name(l->f), (unsigned long long)got,
                     l->off, (unsigned long long)get_le(ss + l->off, l->size));
        }
    }
}

/* Every field set to its own value, then all read back: no field clobbers
 * another. */
static void test_all_fields_roundtrip(void **state)
{
    uint8_t ss[SS_BYTES];

    (void)state;
    for (unsigned m = 0; m < N(maps); m++) {
        const struct map *mp = &maps[m];

        blank(ss, 0, mp->rev);
        for (unsigned i = 0; i < mp->n; i++)
            if (mp->loc[i].f != SS_REVISION)
                assert_true(ss_set(ss, mp->loc[i].f, pattern(mp->loc[i].f)));
        for (unsigned i = 0; i < mp->n; i++) {
            const struct loc *l = &mp->loc[i];
            uint64_t got = 0, v = l->f == SS_REVISION ? mp->rev : pattern(l->f);

            assert_true(ss_get(ss, l->f, &got));
            if (got != (v & mask(l->size)))
                fail_msg("%s: %s = 0x%llx after setting all, expected 0x%llx",
                     mp->name, ss_field_name(l->f), (unsigned long long)got,
                     (unsigned long long)(v & mask(l->size)));
        }
        assert_int_equal(ss_revision(ss), mp->rev);
        assert_int_equal(ss_map_of(ss), mp->id);
    }
}

/* ---- absent fields, unknown maps, the revision --------------------------- */

static void test_ia32_absent(void **state)
{
    uint8_t ss[SS_BYTES], before[SS_BYTES];

    (void)state;
    blank(ss, 0x5A, 0x00020000);
    memcpy(before, ss, SS_BYTES);
    for (unsigned i = 0; i < N(ia32_absent); i++) {
        uint64_t v = 0x1234;

        assert_false(ss_get(ss, ia32_absent[i], &v));
        assert_false(ss_set(ss, ia32_absent[i], 0xFFFFFFFFFFFFFFFFull));
        assert_memory_equal(ss, before, SS_BYTES);
    }
    /* ...but present in the AMD64 map. */
    blank(ss, 0x5A, 0x00020064);
    for (unsigned i = 0; i < N(ia32_absent); i++) {
        uint64_t v = 0;

        assert_true(ss_set(ss, ia32_absent[i], 0x0102030405060708ull));
        assert_true(ss_get(ss, ia32_absent[i], &v));
        assert_int_equal(v, 0x0102030405060708ull);
    }
}

static void test_unknown_revision(void **state)
{
    static const uint32_t revs[] = {
        0x00020065, 0x00020063, 0x00020001, 0x00021064, 0x00030100,
        0x0002FFFF, 0xFFFFFFFF, 0x00010030,
    };
    uint8_t ss[SS_BYTES], before[SS_BYTES];

    (void)state;
    for (unsigned r = 0; r < N(revs); r++) {
        blank(ss, 0xA5, revs[r]);
        memcpy(before, ss, SS_BYTES);
        assert_int_equal(ss_map_of(ss), SS_MAP_UNKNOWN);
        assert_int_equal(ss_revision(ss), revs[r]);
        for (unsigned f = 0; f < SS_FIELD_COUNT; f++) {
            uint64_t v = 0;

            if (ss_get(ss, (enum ss_field)f, &v))
                fail_msg("revision 0x%08x: ss_get(%s) succeeded", revs[r],
                     ss_field_name((enum ss_field)f));
            if (ss_set(ss, (enum ss_field)f, 1))
                fail_msg("revision 0x%08x: ss_set(%s) succeeded", revs[r],
                     ss_field_name((enum ss_field)f));
        }
        assert_memory_equal(ss, before, SS_BYTES);
    }
}

/* The map is the low 16 bits; the upper ones are feature flags (bit 16
 * I/O restart, bit 17 SMBASE relocation). */
static void test_revision_flags(void **state)
{
    uint8_t ss[SS_BYTES];
    uint64_t v = 0;

    (void)state;
    assert_int_equal(SS_REV_SMBASE_RELOC, 1u << 17);
    blank(ss, 0, 0x00000064);
    assert_int_equal(ss_map_of(ss), SS_MAP_AMD64);
    blank(ss, 0, 0x00030064);
    assert_int_equal(ss_map_of(ss), SS_MAP_AMD64);
    assert_true(ss_set(ss, SS_RAX, 0xDEADBEEFCAFEF00Dull));
    assert_int_equal(get_le(ss + 0x1F8, 8), 0xDEADBEEFCAFEF00Dull);
    blank(ss, 0, 0x00030000);
    assert_int_equal(ss_map_of(ss), SS_MAP_IA32);
    assert_true(ss_set(ss, SS_RAX, 0xCAFEF00D));
    assert_int_equal(get_le(ss + 0x1D0, 4), 0xCAFEF00D);
    assert_true(ss_get(ss, SS_REVISION, &v));
    assert_int_equal(v, 0x00030000);
}

static void test_revision_read_only(void **state)
{
    uint8_t ss[SS_BYTES], before[SS_BYTES];
    uint64_t v = 0;

    (void)state;
    for (unsigned m = 0; m < N(maps); m++) {
        blank(ss, 0x33, maps[m].rev);
        memcpy(before, ss, SS_BYTES);
        assert_false(ss_set(ss, SS_REVISION, 0x00020064));
        assert_false(ss_set(ss, SS_REVISION, maps[m].rev));
        assert_false(ss_set(ss, SS_REVISION, 0));
        assert_memory_equal(ss, before, SS_BYTES);
        assert_true(ss_get(ss, SS_REVISION, &v));
        assert_int_equal(v, maps[m].rev);
        assert_int_equal(ss_revision(ss), maps[m].rev);
    }
}

/* ---- narrow fields truncate ------------------------------------------------ */

static void test_truncation(void **state)
{
    uint8_t ss[SS_BYTES];
    uint64_t v = 0;

    (void)state;
    /* 32-bit map: every register is 4 bytes. */
    blank(ss, 0xEE, 0x00020000);
    assert_true(ss_set(ss, SS_RAX, 0x123456789ull));
    assert_true(ss_get(ss, SS_RAX, &v));
    assert_int_equal(v, 0x23456789);
    assert_int_equal(ss[0x1D0], 0x89);
    assert_int_equal(ss[0x1D3], 0x23);
    assert_int_equal(ss[0x1D4], 0xEE);  /* ECX untouched */
    assert_int_equal(ss[0x1CF], 0xEE);  /* DR6 untouched */
    assert_true(ss_set(ss, SS_RIP, 0xFFFFFFFF00001000ull));
    assert_true(ss_get(ss, SS_RIP, &v));
    assert_int_equal(v, 0x1000);
    assert_true(ss_set(ss, SS_SMBASE, 0x100030000ull));
    assert_true(ss_get(ss, SS_SMBASE, &v));
    assert_int_equal(v, 0x30000);
    assert_int_equal(get_le(ss + 0xF8, 4), 0x30000);
    /* AMD64 map: 2- and 4-byte fields truncate, 8-byte ones do not. */
    blank(ss, 0xEE, 0x00020064);
    assert_true(ss_set(ss, SS_CS_SEL, 0x12345));
    assert_true(ss_get(ss, SS_CS_SEL, &v));
    assert_int_equal(v, 0x2345);
    assert_int_equal(ss[0x12], 0xEE);   /* CS attributes untouched */
    assert_true(ss_set(ss, SS_SMBASE, 0x123456789ull));
    assert_true(ss_get(ss, SS_SMBASE, &v));
    assert_int_equal(v, 0x23456789);
    assert_int_equal(ss[0x104], 0xEE);
    assert_true(ss_set(ss, SS_CS_LIMIT, 0xAFFFFFFFFull));
    assert_true(ss_get(ss, SS_CS_LIMIT, &v));
    assert_int_equal(v, 0xFFFFFFFF);
    assert_int_equal(ss[0x18], 0xEE);   /* CS base untouched */
    assert_true(ss_set(ss, SS_RIP, 0xFFFFFFFF80001000ull));
    assert_true(ss_get(ss, SS_RIP, &v));
    assert_int_equal(v, 0xFFFFFFFF80001000ull);
}

/* ---- names and bad field numbers ------------------------------------------ */

static void test_names(void **state)
{
    uint8_t ss[SS_BYTES];
    uint64_t v = 7;

    (void)state;
    for (unsigned f = 0; f < SS_FIELD_COUNT; f++) {
        const char *a = ss_field_name((enum ss_field)f);

        assert_non_null(a);
        assert_true(strlen(a) > 0);
        for (unsigned g = 0; g < f; g++)
            assert_string_not_equal(a, ss_field_name((enum ss_field)g));
    }
    assert_string_equal(ss_field_name(SS_RAX), "rax");
    assert_string_equal(ss_field_name(SS_REVISION), "revision");
    assert_non_null(ss_field_name(SS_FIELD_COUNT));
    assert_non_null(ss_field_name((enum ss_field)1000));
    blank(ss, 0, 0x00020064);
    assert_false(ss_get(ss, SS_FIELD_COUNT, &v));
    assert_false(ss_set(ss, SS_FIELD_COUNT, 1));
    assert_false(ss_get(ss, (enum ss_field)0x7FFFFFFF, &v));
    assert_false(ss_set(ss, (enum ss_field)0x7FFFFFFF, 1));
}

/* The restart flags: a byte at FEC9h/FEC8h (AMD64 map), a word at
 * FF02h/FF00h (32-bit map), written from the tables of the APM and the
 * SDM, not from savestate.h; nothing else changes; no map, no flag. */
static void test_restart_flags(void **state)
{
    (void)state;
    static const struct { uint32_t rev; unsigned halt, io, size; } t[] = {
        { 0x00020064, 0xFEC9 - 0xFE00, 0xFEC8 - 0xFE00, 1 },
        { 0x00020000, 0xFF02 - 0xFE00, 0xFF00 - 0xFE00, 2 },
    };
    uint8_t ss[SS_BYTES], before[SS_BYTES];
    uint32_t v;
    for (unsigned m = 0; m < N(t); m++) {
        blank(ss, 0xA5, t[m].rev);
        memcpy(before, ss, sizeof(ss));
        assert_true(ss_flag_get(ss, SS_FLAG_AUTO_HALT, &v));
        assert_int_equal(v, t[m].size == 1 ? 0xA5 : 0xA5A5);
        assert_true(ss_flag_set(ss, SS_FLAG_AUTO_HALT, 0x0001));
        assert_true(ss_flag_set(ss, SS_FLAG_IO_RESTART, 0x00FF));
        assert_int_equal(get_le(ss + t[m].halt, t[m].size), 0x0001);
        assert_int_equal(get_le(ss + t[m].io, t[m].size), 0x00FF);
        for (unsigned i = 0; i < SS_BYTES; i++)
            if ((i < t[m].halt || i >= t[m].halt + t[m].size) && (i < t[m].io || i >= t[m].io + t[m].size))
                assert_int_equal(ss[i], before[i]);
        assert_true(ss_flag_get(ss, SS_FLAG_IO_RESTART, &v));
        assert_int_equal(v, 0x00FF);
    }
    blank(ss, 0, 0x00021234);                  /* an unknown map */
    assert_false(ss_flag_get(ss, SS_FLAG_AUTO_HALT, &v));
    assert_false(ss_flag_set(ss, SS_FLAG_AUTO_HALT, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_consistent),
        cmocka_unit_test(test_set_exact_bytes),
        cmocka_unit_test(test_get_exact_bytes),
        cmocka_unit_test(test_all_fields_roundtrip),
        cmocka_unit_test(test_ia32_absent),
        cmocka_unit_test(test_unknown_revision),
        cmocka_unit_test(test_revision_flags),
        cmocka_unit_test(test_revision_read_only),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_restart_flags),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
