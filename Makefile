# The two entry points: `make demo` runs the system end to end on this machine, `make test` runs
# every test. Both install what is missing and build first.
PRESET ?= dev
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
# ccache (used when installed) may reuse objects compiled in another clone of the repository.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: all deps build release demo test test-unit test-property test-integration coverage bench \
        fuzz format lint clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j $(JOBS)

release:
	$(MAKE) build PRESET=release

# The demo needs only the two binaries (release build); scripts/demo.sh --help lists its settings,
# which it also takes from DEMO_* variables (make demo DEMO_STACK=cli DEMO_THRESHOLD=100).
demo: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target file-monitor file-service
	bash scripts/demo.sh --build-dir build/release

test: build
	ctest --preset $(PRESET) $(CTEST_ARGS)

test-unit: build
	ctest --preset $(PRESET) -L unit $(CTEST_ARGS)

test-property: build
	ctest --preset $(PRESET) -L property $(CTEST_ARGS)

test-integration: build
	ctest --preset $(PRESET) -L integration $(CTEST_ARGS)

coverage: deps
	cmake --preset coverage >/dev/null
	cmake --build --preset coverage -j $(JOBS)
	ctest --preset coverage $(CTEST_ARGS)
	gcovr --root . --filter 'core/' --filter 'lambda/' --filter 'fargate/' \
	  --object-directory build/coverage --print-summary \
	  --html-details build/coverage/coverage.html
	@echo "HTML report: build/coverage/coverage.html"

# The fuzz targets under libFuzzer (clang, ASan, UBSan), FUZZ_SECONDS each (FUZZ_ONLY=name for
# one); `make test` only replays their saved inputs (tests/fuzz/corpus).
FUZZ_SECONDS ?= 60
FUZZ_ONLY ?=
fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target fuzz_targets
	bash scripts/fuzz.sh --build-dir build/fuzz --seconds $(FUZZ_SECONDS) \
	  $(if $(FUZZ_ONLY),--only $(FUZZ_ONLY))

bench: deps
	$(MAKE) build PRESET=release
	bash scripts/bench.sh

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

lint:
	git ls-files '*.sh' | xargs shellcheck
	git ls-files '*.h' '*.cc' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
