# Makefile: the README's two commands, as thin wrappers around scripts/.
.PHONY: demo test build clean

demo:
	@scripts/demo

test:
	@scripts/test

build:
	@scripts/deps build
	@[ -f build/build.ninja ] || meson setup build
	@meson compile -C build

clean:
	rm -rf build build-ci build-fuzz build-ci.setup.log build-fuzz.setup.log
