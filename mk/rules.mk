# SPDX-License-Identifier: BSD-3-Clause
# Generic rules over the lists filled by the module.mk files.

objs_of = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
lib_a = $(BUILD)/lib/libvhd_$(1).a
pkg_cflags = $(if $(1),$(shell pkg-config --cflags $(1)))
pkg_libs = $(if $(1),$(shell pkg-config --libs $(1)))

# Libraries: an archive each; per-library CFLAGS apply to its objects only.
define lib_template
$(1)_OBJS := $$(call objs_of,$$($(1)_SRCS))
$$($(1)_OBJS): EXTRA_CFLAGS := $$($(1)_CFLAGS) $$(call pkg_cflags,$$($(1)_PKGS))
$$(call lib_a,$(1)): $$($(1)_OBJS)
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  AR      $$@")
	$$(Q)rm -f $$@ && ar crs $$@ $$^
ALL_OBJS += $$($(1)_OBJS)
endef
$(foreach l,$(LIBS),$(eval $(call lib_template,$(l))))

# Binaries (apps and unit tests): own sources + our libraries, whole-archive so
# constructor registrations survive; each library contributes its own link flags.
define bin_template
$(1)_OBJS := $$(call objs_of,$$($(1)_SRCS))
$(1)_ALLPKGS := $$(sort $$($(1)_PKGS) $$(foreach l,$$($(1)_LIBS),$$($$(l)_PKGS)))
$$($(1)_OBJS): EXTRA_CFLAGS := $$($(1)_CFLAGS) $$(call pkg_cflags,$$($(1)_ALLPKGS))
$(BUILD)/$(1): $$($(1)_OBJS) $$(foreach l,$$($(1)_LIBS),$$(call lib_a,$$(l)))
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  LINK    $$@")
	$$(Q)$$(CC) $$(LDFLAGS_BASE) $$($(1)_LDFLAGS) -o $$@ $$($(1)_OBJS) \
		-Wl,--whole-archive $$(foreach l,$$($(1)_LIBS),$$(call lib_a,$$(l))) -Wl,--no-whole-archive \
		$$(call pkg_libs,$$($(1)_ALLPKGS)) $$($(1)_LDLIBS) \
		$$(foreach l,$$($(1)_LIBS),$$($$(l)_LDLIBS)) -lm
ALL_OBJS += $$($(1)_OBJS)
endef
$(foreach b,$(APPS) $(UNIT_TESTS) $(BENCH_BINS),$(eval $(call bin_template,$(b))))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_BASE) $(EXTRA_CFLAGS) $(CFLAGS) -c -o $@ $<

APP_BINS := $(addprefix $(BUILD)/,$(APPS))
UNIT_BINS := $(addprefix $(BUILD)/,$(UNIT_TESTS))
BENCH_BIN_PATHS := $(addprefix $(BUILD)/,$(BENCH_BINS))
# Only the programs under app/ are installed; benches and test clients are not.
INSTALL_BINS := $(filter $(BUILD)/app/%,$(APP_BINS))

.PHONY: all apps unit check check-unit check-functional check-e2e run deps install clean style fuzz bench
all: $(APP_BINS) $(UNIT_BINS) $(BENCH_BIN_PATHS)
apps: $(APP_BINS)
unit: $(UNIT_BINS)

deps:
	@scripts/pkgdep.sh

# `make check`: packages, build, then every suite; each runner prints `N passed, N failed`.
check: deps
	$(MAKE) -j$(JOBS) all
	scripts/check.sh

check-unit: unit
	test/unit/run.sh $(UNIT_BINS)

check-functional: all
	test/runner.sh -n functional $$(find $(CURDIR)/test/functional -type f -name 'test_*' -perm -u+x | sort)

check-e2e: all
	test/runner.sh -n e2e -t 600 $$(find $(CURDIR)/test/e2e -type f -name 'test_*' -perm -u+x | sort)

run: deps
	$(MAKE) -j$(JOBS) apps
	scripts/run.sh

fuzz:
	@mkdir -p $(BUILD)/fuzz
	scripts/fuzz.sh

bench: apps $(BENCH_BIN_PATHS)
	@for b in bench/*.sh; do [ -x "$$b" ] && echo "== $$b" && "$$b"; done; true

install: apps
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/vhostd
	install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 scripts/rpc.py $(DESTDIR)$(PREFIX)/bin/vhostd-rpc
	install -d $(DESTDIR)$(PREFIX)/share/vhostd/rpc
	install -m 0644 scripts/rpc/*.py $(DESTDIR)$(PREFIX)/share/vhostd/rpc/
	install -d $(DESTDIR)/lib/systemd/system
	install -m 0644 contrib/systemd/vhostd.service $(DESTDIR)/lib/systemd/system/

style:
	find include lib app test bench -name '*.[ch]' | xargs clang-format -i

clean:
	rm -rf $(BUILD)

-include $(ALL_OBJS:.o=.d)
