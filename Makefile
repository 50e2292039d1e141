# The two commands of the README: `make demo` and `make test`.
# Every install step lives here (or in the scripts it calls), so a fresh machine needs nothing else.

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
# Debian packages the tests start for real (etcd, Redis, PostgreSQL, Net-SNMP, OpenSSH).
TEST_DEBS := etcd-server etcd-client redis-server postgresql snmpd snmp openssh-server
# The binaries that prove each of those packages is installed (any PostgreSQL major version: the
# fixture uses the newest under /usr/lib/postgresql; the shell expands the glob).
TEST_BINS := /usr/bin/etcd /usr/bin/etcdctl /usr/bin/redis-server /usr/lib/postgresql/*/bin/initdb /usr/sbin/snmpd /usr/bin/snmptrap /usr/sbin/sshd
# RethinkDB has no Debian package: the tests run the server binary in ../shared/servers/rethinkdb
# (beside the clone; TRANSOM_RETHINKDB_BIN overrides it), whose runtime libraries come from these.
RETHINKDB_DEBS := libre2-9 libprotobuf32 libcurl4 libssl3
# The library files that prove those packages are installed.
RETHINKDB_LIBS := /usr/lib/x86_64-linux-gnu/libre2.so.9 /usr/lib/x86_64-linux-gnu/libprotobuf.so.32 /usr/lib/x86_64-linux-gnu/libcurl.so.4 /usr/lib/x86_64-linux-gnu/libssl.so.3

# Web pages are tested in Debian's headless Chromium through Playwright for Python (never
# Playwright's own browser download); fonts so screenshots show text; nginx as the reverse
# proxy a front end is served through (tests/servers/nginx.py).
BROWSER_DEBS := chromium fonts-dejavu-core nginx
BROWSER_BINS := /usr/bin/chromium /usr/sbin/nginx

# What `transom image build` and its boot test use: debootstrap for the base system, mkfs/mtools/
# sfdisk to assemble the disk image without loop devices, zstd, and qemu with OVMF (UEFI) to boot it.
IMAGE_DEBS := debootstrap qemu-system-x86 ovmf mtools dosfstools e2fsprogs fdisk zstd
IMAGE_BINS := /usr/sbin/debootstrap /usr/bin/qemu-system-x86_64 /usr/share/OVMF/OVMF_CODE_4M.fd /usr/bin/mcopy /sbin/mkfs.vfat /sbin/mkfs.ext4 /sbin/sfdisk /usr/bin/zstd

# @placeos/ts-client and its shims for tests/ts_client, installed from the lock file by `npm ci`.
NODE_DIR := tests/ts_client
# npm writes this hidden lock file on every install: newer than package-lock.json means up to date.
NODE_STAMP := $(NODE_DIR)/node_modules/.package-lock.json

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test venv lint typecheck pytest debs browser-debs image-debs node-deps clean

demo: venv
	$(VENV)/bin/transom demo $(DEMO_ARGS)

test: debs browser-debs image-debs venv lint typecheck node-deps pytest

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

venv: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet

debs:
	@missing=0; for b in $(TEST_BINS); do [ -x $$b ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
		echo "installing Debian packages for the tests: $(TEST_DEBS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_DEBS) >/dev/null; \
	fi
	@missing=0; for f in $(RETHINKDB_LIBS); do [ -e $$f ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
		echo "installing Debian packages for the RethinkDB server binary: $(RETHINKDB_DEBS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(RETHINKDB_DEBS) >/dev/null; \
	fi

browser-debs:
	@missing=0; for b in $(BROWSER_BINS); do [ -x $$b ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
		echo "installing Debian packages for the browser tests: $(BROWSER_DEBS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BROWSER_DEBS) >/dev/null; \
	fi

image-debs:
	@missing=0; for b in $(IMAGE_BINS); do [ -e $$b ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
		echo "installing Debian packages for the edge image: $(IMAGE_DEBS)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(IMAGE_DEBS) >/dev/null; \
	fi

node-deps: $(NODE_STAMP)

# Without npm the ts-client test skips (and fails when CI is set, naming what is missing).
$(NODE_STAMP): $(NODE_DIR)/package-lock.json
	@if command -v npm >/dev/null; then \
		echo "installing Node packages for the tests from $(NODE_DIR)/package-lock.json"; \
		npm ci --prefix $(NODE_DIR) --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else \
		echo "npm not found: the @placeos/ts-client test will be skipped (Node 20 runs it)"; \
	fi

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache $(NODE_DIR)/node_modules
