# make install / make uninstall (included by the Makefile), and the files they
# install that name install paths (pkg-config file, config, systemd unit, man
# pages), rendered into $(BUILD)/dist/ again whenever a path changes.
#   make install [PREFIX=/usr/local] [DESTDIR=/staging] [bindir=... libdir=...
#                includedir=... mandir=... sysconfdir=... plugindir=... systemdunitdir=...]
#   make uninstall (same variables): removes what install put there; a config
#   that differs from the one install writes is kept.

PREFIX         ?= /usr/local
prefix         ?= $(PREFIX)
exec_prefix    ?= $(prefix)
bindir         ?= $(exec_prefix)/bin
libdir         ?= $(exec_prefix)/lib
includedir     ?= $(prefix)/include
datarootdir    ?= $(prefix)/share
mandir         ?= $(datarootdir)/man
sysconfdir     ?= $(prefix)/etc
plugindir      ?= $(libdir)/tokencollector/plugins
systemdunitdir ?= $(libdir)/systemd/system
INSTALL        ?= install

DIST        := $(BUILD)/dist
DIST_PC     := $(DIST)/tokencollector.pc
DIST_INI    := $(DIST)/tokencollector.ini
DIST_UNIT   := $(DIST)/tokencollector.service
MAN_PAGES   := $(DIST)/tokencollector.8 $(DIST)/tokencollector.ini.5
SDK_HEADERS := include/tokencollector/plugin.h include/tokencollector/sdk.h include/tokencollector/testkit.h
SDK_SUBHDRS := $(wildcard include/tokencollector/sdk/*.h)
TC_VERSION  := $(shell sed -n 's/.*TC_VERSION_STRING "\(.*\)".*/\1/p' core/version.h)
TC_ABI      := $(shell awk '/define TC_ABI_MAJOR/ { a = $$3 } /define TC_ABI_MINOR/ { b = $$3 } END { print a "." b }' include/tokencollector/plugin.h)
DIST_PATHS  := $(prefix) $(bindir) $(libdir) $(includedir) $(mandir) $(sysconfdir) $(plugindir) $(systemdunitdir) $(TC_VERSION)
CONF_DIR    := $(sysconfdir)/tokencollector

# Every file install writes, but the config (uninstall compares it first).
INSTALLED := $(bindir)/tokencollector $(addprefix $(plugindir)/,$(notdir $(PLUGIN_SO))) \
	$(addprefix $(includedir)/tokencollector/,$(notdir $(SDK_HEADERS))) \
	$(addprefix $(includedir)/tokencollector/sdk/,$(notdir $(SDK_SUBHDRS))) \
	$(libdir)/$(notdir $(KIT_LIB)) $(libdir)/pkgconfig/tokencollector.pc \
	$(mandir)/man8/tokencollector.8 $(mandir)/man5/tokencollector.ini.5 $(systemdunitdir)/tokencollector.service

.PHONY: install uninstall FORCE
all: $(DIST_PC) $(DIST_INI) $(DIST_UNIT) $(MAN_PAGES)

# Rewritten only when a path differs, so that what depends on it is rendered again.
$(DIST)/paths: FORCE
	@mkdir -p $(@D)
	@echo '$(DIST_PATHS)' | cmp -s - $@ || echo '$(DIST_PATHS)' >$@

SUBST_PATHS = sed -e 's|@prefix@|$(prefix)|g' -e 's|@libdir@|$(libdir)|g' -e 's|@includedir@|$(includedir)|g' \
	-e 's|@sysconfdir@|$(sysconfdir)|g' -e 's|@plugindir@|$(plugindir)|g' \
	-e 's|@systemdunitdir@|$(systemdunitdir)|g' -e 's|@version@|$(TC_VERSION)|g' -e 's|@abi@|$(TC_ABI)|g'

$(DIST_PC): dist/tokencollector.pc.in $(DIST)/paths
	$(SUBST_PATHS) $< >$@

# The shipped config, its plugin_dir pointing at the installed plugins.
$(DIST_INI): conf/tokencollector.ini $(DIST)/paths
	sed 's|^plugin_dir *=.*|plugin_dir = $(plugindir)|' $< >$@.tmp
	grep -qxF 'plugin_dir = $(plugindir)' $@.tmp
	mv $@.tmp $@

# The systemd unit, its /usr/local and /etc paths made the installed ones.
$(DIST_UNIT): conf/tokencollector.service $(DIST)/paths
	sed -e 's|/usr/local/bin|$(bindir)|g' -e 's|/usr/local/lib/tokencollector/plugins|$(plugindir)|g' \
	    -e 's|/etc/systemd/system|$(systemdunitdir)|g' -e 's|/etc/tokencollector|$(CONF_DIR)|g' $< >$@.tmp
	grep -qxF 'ExecStart=$(bindir)/tokencollector -c $(CONF_DIR)/tokencollector.ini' $@.tmp
	mv $@.tmp $@

# The key list of tokencollector.ini(5), printed by the binary from the config map.
$(DIST)/config-keys.roff: $(BUILD)/tokencollector man/config-table.awk
	@mkdir -p $(@D)
	ASAN_OPTIONS=detect_leaks=0 $(BUILD)/tokencollector --config-help --markdown >$@.md
	awk -f man/config-table.awk $@.md >$@.tmp
	rm -f $@.md
	mv $@.tmp $@

$(DIST)/tokencollector.ini.5: man/tokencollector.ini.5.in $(DIST)/config-keys.roff $(DIST)/paths
	$(SUBST_PATHS) $< | awk -v keys=$(DIST)/config-keys.roff \
	    '$$0 == "@CONFIG_KEYS@" { while ((getline l <keys) > 0) print l; n++; next } { print } END { exit n != 1 }' >$@.tmp
	mv $@.tmp $@

$(DIST)/tokencollector.8: man/tokencollector.8.in $(DIST)/paths
	$(SUBST_PATHS) $< >$@

install: $(BUILD)/tokencollector $(PLUGIN_SO) $(KIT_LIB) $(DIST_PC) $(DIST_INI) $(DIST_UNIT) $(MAN_PAGES)
	$(INSTALL) -d "$(DESTDIR)$(bindir)" "$(DESTDIR)$(plugindir)" "$(DESTDIR)$(includedir)/tokencollector/sdk" \
	    "$(DESTDIR)$(libdir)/pkgconfig" "$(DESTDIR)$(mandir)/man8" "$(DESTDIR)$(mandir)/man5" \
	    "$(DESTDIR)$(CONF_DIR)" "$(DESTDIR)$(systemdunitdir)"
	$(INSTALL) -m 0755 $(BUILD)/tokencollector "$(DESTDIR)$(bindir)/"
	$(INSTALL) -m 0644 $(PLUGIN_SO) "$(DESTDIR)$(plugindir)/"
	$(INSTALL) -m 0644 $(SDK_HEADERS) "$(DESTDIR)$(includedir)/tokencollector/"
	$(INSTALL) -m 0644 $(SDK_SUBHDRS) "$(DESTDIR)$(includedir)/tokencollector/sdk/"
	$(INSTALL) -m 0644 $(KIT_LIB) "$(DESTDIR)$(libdir)/"
	$(INSTALL) -m 0644 $(DIST_PC) "$(DESTDIR)$(libdir)/pkgconfig/"
	$(INSTALL) -m 0644 $(DIST)/tokencollector.8 "$(DESTDIR)$(mandir)/man8/"
	$(INSTALL) -m 0644 $(DIST)/tokencollector.ini.5 "$(DESTDIR)$(mandir)/man5/"
	$(INSTALL) -m 0644 $(DIST_UNIT) "$(DESTDIR)$(systemdunitdir)/"
	@if [ -e "$(DESTDIR)$(CONF_DIR)/tokencollector.ini" ]; then \
	    echo "kept the existing $(DESTDIR)$(CONF_DIR)/tokencollector.ini"; \
	else \
	    echo '$(INSTALL) -m 0644 $(DIST_INI) "$(DESTDIR)$(CONF_DIR)/"'; \
	    $(INSTALL) -m 0644 $(DIST_INI) "$(DESTDIR)$(CONF_DIR)/"; \
	fi

uninstall: $(DIST_INI)
	@for f in $(INSTALLED); do rm -f "$(DESTDIR)$$f"; done
	@ini="$(DESTDIR)$(CONF_DIR)/tokencollector.ini"; \
	if cmp -s $(DIST_INI) "$$ini"; then rm -f "$$ini"; \
	elif [ -e "$$ini" ]; then echo "kept $$ini: it differs from the one make install writes"; fi
	@for d in "$(plugindir)" "$(libdir)/tokencollector" "$(includedir)/tokencollector/sdk" \
	    "$(includedir)/tokencollector" "$(CONF_DIR)"; do \
	    rmdir "$(DESTDIR)$$d" 2>/dev/null || true; done
	@echo "removed tokencollector from $(DESTDIR)$(prefix)"
