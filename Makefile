# The one entry point. Every target installs missing Debian packages first (scripts/deps.sh).
#
#   make          release binaries into build/bin/ (vigil-agent, vigil-hub)
#   make test     the unit tests twice, in a debug build (clang) under ASan+UBSan and in a
#                 release build (g++ -O2); the integration tests on the real kernel (root) in
#                 the debug build; the command line and process tests again against the
#                 minimal agent; then each fuzz target for TEST_FUZZ_SECONDS (the fuzz
#                 targets are built by the debug build)
#   make demo     the whole system on this machine (broker, hub, an enrolled agent), its events live
#   make bench    benchmarks (exec storm, footprint) with their targets
#   make minimal  the smallest agent (process collector, JSON Lines) into build/minimal/bin/
#   make fuzz     build the fuzz targets (debug build) and run each for FUZZ_SECONDS
#   make docs     regenerate docs/configuration.md, docs/hub-configuration.md and docs/events.md
#                 from the code and schema

JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 5
CTEST = ctest --output-on-failure --timeout 300 -j$(JOBS)

.PHONY: all deps release test fuzz demo bench minimal docs clean

all: release

release:
	@scripts/deps.sh build
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j$(JOBS) --target vigil-agent vigil-hub
	@echo "built build/bin/vigil-agent build/bin/vigil-hub"

test:
	@scripts/deps.sh test
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j$(JOBS)
	@echo "== tests: debug build (clang) under AddressSanitizer and UndefinedBehaviorSanitizer"
	@cd build/dev && $(CTEST)
	@echo "== the minimal agent: built, then the command line and process tests run against it"
	@cmake --preset minimal >/dev/null
	@cmake --build --preset minimal -j$(JOBS) --target vigil-agent
	@VIGIL_AGENT_UNDER_TEST=$(CURDIR)/build/minimal/bin/vigil-agent build/dev/tests/agent_cli_test
	@VIGIL_AGENT_UNDER_TEST=$(CURDIR)/build/minimal/bin/vigil-agent build/dev/tests/process_integration_test \
	  --gtest_filter='ProcessIntegration.*'
	@cmake --preset release-test >/dev/null
	@cmake --build --preset release-test -j$(JOBS)
	@echo "== unit tests: release build (g++)"
	@cd build/release-test && $(CTEST)
	@echo "== fuzz: every target for $(TEST_FUZZ_SECONDS) s"
	@scripts/run-fuzz.sh build/dev/bin $(TEST_FUZZ_SECONDS)

fuzz:
	@scripts/deps.sh test
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j$(JOBS) --target fuzz-all
	@scripts/run-fuzz.sh build/dev/bin $(FUZZ_SECONDS)

demo: release
	@scripts/deps.sh demo
	@scripts/demo.sh

bench:
	@scripts/deps.sh bench
	@cmake --preset release >/dev/null
	@cmake --preset minimal >/dev/null
	@cmake --build --preset release -j$(JOBS)
	@cmake --build --preset minimal -j$(JOBS) --target vigil-agent
	@bench/run.sh

minimal:
	@scripts/deps.sh build
	@cmake --preset minimal >/dev/null
	@cmake --build --preset minimal -j$(JOBS) --target vigil-agent
	@echo "built build/minimal/bin/vigil-agent"

docs: release
	@cmake --build --preset release -j$(JOBS) --target vigil-schema
	@build/bin/vigil-agent config --print-reference > docs/configuration.md.tmp \
	  && mv docs/configuration.md.tmp docs/configuration.md || { rm -f docs/configuration.md.tmp; exit 1; }
	@build/bin/vigil-hub config --print-reference > docs/hub-configuration.md.tmp \
	  && mv docs/hub-configuration.md.tmp docs/hub-configuration.md || { rm -f docs/hub-configuration.md.tmp; exit 1; }
	@build/bin/vigil-schema docs schema/events.yml > docs/events.md.tmp \
	  && mv docs/events.md.tmp docs/events.md || { rm -f docs/events.md.tmp; exit 1; }
	@echo "wrote docs/configuration.md docs/hub-configuration.md docs/events.md"

clean:
	rm -rf build
