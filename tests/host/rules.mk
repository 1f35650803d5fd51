# tests/host/rules.mk - host unit tests (cmocka) for the pure library code.
#
# Included from the top-level Makefile; also usable on its own:
#     make -f tests/host/rules.mk host-test
#
# To add a test tests/host/test_foo.c that needs smm/foo.c:
#     HOST_TESTS += test_foo
#     test_foo_SRCS = smm/foo.c
# (before or after the include: the lists are expanded lazily).

HOST_CC      ?= cc
HOST_BUILD   ?= build/host
# -fno-sanitize-recover makes UBSan findings fail the test instead of
# just printing a warning and exiting 0.
HOST_CFLAGS  ?= -std=c11 -Wall -Wextra -Werror -g -O1 \
		-fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -DSMMSYNC_HOST -I.
HOST_LDLIBS  ?= -lcmocka
# Any header change rebuilds every test: simple, and the tests are small.
HOST_HDRS    ?= $(wildcard */*.h */*/*.h)

HOST_TESTS += test_printf test_mb2 test_acpi test_tap test_cmdline test_string
test_printf_SRCS  = lib/printf.c
test_mb2_SRCS     = lib/mb2.c lib/printf.c
test_acpi_SRCS    = drivers/acpi_tables.c lib/printf.c
test_tap_SRCS     = lib/tap.c lib/printf.c
test_cmdline_SRCS = lib/cmdline.c
test_string_SRCS  =

# Tests of concurrent code run under ThreadSanitizer instead (it cannot be
# combined with AddressSanitizer): threads as CPUs.
HOST_TSAN_CFLAGS ?= -std=c11 -Wall -Wextra -Werror -g -O2 -pthread \
		-fsanitize=thread -fno-omit-frame-pointer -DSMMSYNC_HOST -I.
HOST_TSAN_TESTS += test_rendezvous
test_rendezvous_SRCS = smm/image/rendezvous.c smm/image/wait.c lib/cpuset.c lib/printf.c

# Keep whatever default goal the including Makefile has (or will define):
# nothing in this fragment should become `make`'s default target.
_host_saved_default_goal := $(.DEFAULT_GOAL)

# Second expansion lets HOST_TESTS / test_*_SRCS be appended after this
# fragment is included and still be seen by the rules below.
.SECONDEXPANSION:

# host-build builds every test; host-test builds and runs them, but those
# named in HOST_SKIP (tools/test.sh runs test_rendezvous in its own lane).
HOST_SKIP ?=
.PHONY: host-test host-build
host-build: $$(addprefix $$(HOST_BUILD)/,$$(HOST_TESTS) $$(HOST_TSAN_TESTS))
host-test: $$(addprefix $$(HOST_BUILD)/,$$(filter-out $$(HOST_SKIP),$$(HOST_TESTS) $$(HOST_TSAN_TESTS)))
	@fail=0; \
	for t in $^; do \
		echo "== $$t"; \
		$$t || { echo "FAILED: $$t"; fail=1; }; \
	done; \
	if [ $$fail -ne 0 ]; then echo "host-test: FAILURES"; else echo "host-test: all passed"; fi; \
	exit $$fail

$(addprefix $(HOST_BUILD)/,$(HOST_TSAN_TESTS)): $(HOST_BUILD)/%: tests/host/%.c $$($$*_SRCS) $$(HOST_HDRS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_TSAN_CFLAGS) -o $@ $< $($*_SRCS)

$(HOST_BUILD)/%: tests/host/%.c $$($$*_SRCS) $$(HOST_HDRS)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -o $@ $< $($*_SRCS) $(HOST_LDLIBS)

.DEFAULT_GOAL := $(_host_saved_default_goal)
