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

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test venv lint typecheck pytest debs clean

demo: venv
	$(VENV)/bin/transom demo $(DEMO_ARGS)

test: debs venv lint typecheck pytest

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

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

pytest: venv
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
