/*
 * fuzz_mb2.c - libFuzzer target for the Multiboot2 info parser (kernel/mb2.c).
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
 * exercises kernel/printf.c.  Checked properties (abort() on violation):
 * the return code is 0 or a known enum mb2_err, the error message is empty
 * on success and a NUL-terminated non-empty string on failure, and a
 * successful parse leaves struct mb2_info self-consistent.
 *
 * Build: tools/fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/mb2.h"

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
