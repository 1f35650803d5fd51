/*
 * fuzz_mb2.c - libFuzzer target for the Multiboot2 info parser (lib/mb2.c).
 *
 * The input is the boot-information blob itself.  Every parse runs on an
 * exactly sized heap copy of the bytes it is told it may read, so ASan
 * reports any read outside [mbi, mbi + avail).  Each input is parsed with
 *   - avail = the input size (the normal case),
 *   - avail = min(total_size, size) - 1 and size / 2 (avail shorter than the
 *     info claims: must fail cleanly, never read past avail),
 *   - avail = exactly total_size when the input holds more: bytes after
 *     total_size must not change the outcome,
 * and with error buffers of assorted sizes (including none), which also
 * exercises lib/printf.c.  Checked properties (abort() on violation):
 * the return code is 0 or a known enum mb2_err, the error message is empty
 * on success and a NUL-terminated non-empty string on failure, a
 * successful parse leaves struct mb2_info self-consistent, and the result
 * (code and every field) equals that of a small reference parser written
 * here from mb2.h and the Multiboot2 spec.
 *
 * Build: tools/fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mb2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                      \
    do {                                                             \
        if (!(cond)) {                                           \
            fprintf(stderr, "fuzz_mb2: check failed: %s (%s:%d)\n", \
                #cond, __FILE__, __LINE__);              \
            abort();                                         \
        }                                                        \
    } while (0)

/* An exactly sized heap copy (malloc(0) may return NULL: use 1 byte then,
 * the parser is told 0 bytes are readable). */
static uint8_t *dup_exact(const uint8_t *data, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    if (!p)
        abort();
    if (n)
        memcpy(p, data, n);
    return p;
}

static bool nul_within(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

static void check_info(const struct mb2_info *mi)
{
    CHECK(mi->mmap_count <= MB2_MAX_MMAP);
    CHECK(mi->has_mmap || mi->mmap_count == 0);
    CHECK(nul_within(mi->cmdline, sizeof(mi->cmdline)));
    CHECK(nul_within(mi->loader, sizeof(mi->loader)));
    CHECK(mi->has_cmdline || mi->cmdline[0] == '\0');
    CHECK(mi->has_loader || mi->loader[0] == '\0');
    if (mi->has_rsdp) {
        CHECK(mi->rsdp_version == 1 || mi->rsdp_version == 2);
        CHECK(mi->rsdp_len <= sizeof(mi->rsdp));
        CHECK(mi->rsdp_len >= (mi->rsdp_version == 2 ? 36u : 20u));
        CHECK(memcmp(mi->rsdp, "RSD PTR ", 8) == 0);
    } else {
        CHECK(mi->rsdp_len == 0 && mi->rsdp_version == 0);
    }
}

/* ---- the reference: a second, independent reading of mb2.h ---------------- */

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

/* A string tag's payload: NUL inside it, copied truncated to dstlen - 1. */
static int ref_string(char *dst, size_t dstlen, const uint8_t *p, size_t n)
{
    const uint8_t *nul = memchr(p, 0, n);
    size_t len;

    if (!nul)
        return MB2_ERR_STRING;
    len = (size_t)(nul - p);
    if (len > dstlen - 1)
        len = dstlen - 1;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return 0;
}

static int ref_mmap(const uint8_t *pl, size_t plen, struct mb2_info *o)
{
    uint32_t esize, n;

    if (o->has_mmap)
        return MB2_ERR_DUP;
    if (plen < 8)
        return MB2_ERR_MMAP;
    esize = get32(pl);
    if (esize < 24 || esize % 8)
        return MB2_ERR_MMAP;
    n = (uint32_t)((plen - 8) / esize);
    if (n > MB2_MAX_MMAP)
        return MB2_ERR_MMAP;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = pl + 8 + (size_t)i * esize;

        o->mmap[i].addr = get64(e);
        o->mmap[i].len = get64(e + 8);
        o->mmap[i].type = get32(e + 16);
    }
    o->mmap_count = n;
    o->has_mmap = true;
    return 0;
}

static int ref_rsdp(int version, const uint8_t *pl, size_t plen, struct mb2_info *o, bool seen[2])
{
    if (seen[version - 1])
        return MB2_ERR_DUP;
    seen[version - 1] = true;
    if (plen < (version == 2 ? 36u : 20u) ||
        memcmp(pl, "RSD PTR ", 8) != 0)
        return MB2_ERR_RSDP;
    if (o->rsdp_version == 2)
        return 0;       /* the ACPI 2.0+ copy wins */
    o->rsdp_len = (unsigned)(plen < 64 ? plen : 64);
    memcpy(o->rsdp, pl, o->rsdp_len);
    o->rsdp_version = version;
    o->has_rsdp = true;
    return 0;
}

static int ref_parse(const uint8_t *b, size_t avail, struct mb2_info *o)
{
    uint64_t total, off;
    bool seen[2] = { false, false };

    memset(o, 0, sizeof(*o));
    if (avail < 8)
        return MB2_ERR_TOTAL;
    total = get32(b);
    if (total < 16 || total > avail || get32(b + 4) != 0)
        return MB2_ERR_TOTAL;
    for (off = 8;; off += (get32(b + off + 4) + 7ull) / 8 * 8) {
        uint32_t type, size;
        const uint8_t *pl;
        size_t plen;
        int rc;

        if (off + 8 > total)
            return MB2_ERR_NO_END;
        type = get32(b + off);
        size = get32(b + off + 4);
        if (size < 8 || off + size > total)
            return MB2_ERR_TAG;
        if (type == MB2_TAG_END)
            return size == 8 ? 0 : MB2_ERR_NO_END;
        o->tag_count++;
        pl = b + off + 8;
        plen = size - 8;
        switch (type) {
        case MB2_TAG_CMDLINE:
        case MB2_TAG_LOADER_NAME: {
            bool *has = type == MB2_TAG_CMDLINE ? &o->has_cmdline
                                : &o->has_loader;
            if (*has)
                return MB2_ERR_DUP;
            rc = type == MB2_TAG_CMDLINE
                     ? ref_string(o->cmdline, sizeof(o->cmdline), pl, plen)
                     : ref_string(o->loader, sizeof(o->loader), pl, plen);
            if (rc)
                return rc;
            *has = true;
            break;
        }
        case MB2_TAG_MMAP:
            rc = ref_mmap(pl, plen, o);
            if (rc)
                return rc;
            break;
        case MB2_TAG_ACPI_OLD:
        case MB2_TAG_ACPI_NEW:
            rc = ref_rsdp(type == MB2_TAG_ACPI_NEW ? 2 : 1, pl, plen, o, seen);
            if (rc)
                return rc;
            break;
        default:
            break;
        }
    }
}

static bool same_info(const struct mb2_info *x, const struct mb2_info *y)
{
    return x->has_cmdline == y->has_cmdline &&
           strcmp(x->cmdline, y->cmdline) == 0 &&
           x->has_loader == y->has_loader &&
           strcmp(x->loader, y->loader) == 0 &&
           x->has_mmap == y->has_mmap && x->mmap_count == y->mmap_count &&
           memcmp(x->mmap, y->mmap, x->mmap_count * sizeof(x->mmap[0])) == 0 &&
           x->has_rsdp == y->has_rsdp && x->rsdp_version == y->rsdp_version &&
           x->rsdp_len == y->rsdp_len &&
           memcmp(x->rsdp, y->rsdp, x->rsdp_len) == 0 &&
           x->tag_count == y->tag_count;
}

/*
 * Parse the first `avail` bytes of data from an exact copy, with an error
 * buffer of errlen bytes (none if errlen == 0).  Returns the code; *out
 * and err (if given, errlen bytes) receive the results.
 */
static int parse(const uint8_t *data, size_t avail, struct mb2_info *out,
         char *errcopy, size_t errlen)
{
    uint8_t *mbi = dup_exact(data, avail);
    char *err = errlen ? malloc(errlen) : NULL;
    int rc;

    if (errlen && !err)
        abort();
    if (err)
        memset(err, 'X', errlen);
    rc = mb2_parse(mbi, avail, out, err, errlen);
    CHECK(rc <= 0 && rc >= MB2_ERR_DUP);
    if (err) {
        CHECK(nul_within(err, errlen));
        if (rc == 0)
            CHECK(err[0] == '\0');
        else if (errlen > 1)
            CHECK(err[0] != '\0');
        if (errcopy)
            memcpy(errcopy, err, errlen);
    }
    if (rc == 0)
        check_info(out);
    {
        static struct mb2_info ref;
        int rrc = ref_parse(mbi, avail, &ref);

        if (rrc != rc) {
            fprintf(stderr, "fuzz_mb2: mb2_parse returned %d, reference %d\n",
                rc, rrc);
            abort();
        }
        CHECK(rc != 0 || same_info(out, &ref));
    }
    free(err);
    free(mbi);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* static: struct mb2_info is ~4 KiB, keep it off the fuzzer's stack. */
    static struct mb2_info a, b;
    static char ea[256], eb[256];
    uint32_t total = 0;
    size_t shorter, small_errlen;
    int rc;

    /* The normal case: avail is everything we have. */
    rc = parse(data, size, &a, ea, sizeof(ea));
    if (size >= 4)
        memcpy(&total, data, 4);
    if (rc == 0)
        CHECK(total <= size);

    /* Error buffers that truncate the message (1..64 bytes) or none. */
    small_errlen = size % 65;
    (void)parse(data, size, &b, NULL, small_errlen);

    /* Bytes after total_size must not matter. */
    if (total >= 8 && total < size) {
        int rc2 = parse(data, total, &b, eb, sizeof(eb));

        CHECK(rc2 == rc);
        if (rc == 0)
            CHECK(memcmp(&a, &b, sizeof(a)) == 0);
        else
            CHECK(strcmp(ea, eb) == 0);
    }

    /* avail shorter than the info claims: never a success. */
    shorter = (total && total <= size ? total : size);
    if (shorter) {
        rc = parse(data, shorter - 1, &b, NULL, sizeof(eb));
        if (total && total <= size)
            CHECK(rc != 0);
    }
    (void)parse(data, size / 2, &b, NULL, 48);
    return 0;
}
