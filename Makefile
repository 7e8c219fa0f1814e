# The two commands of the README: `make run` and `make test`. Both install
# what they need from Debian, build, and go.
BUILD ?= build
CMAKE_FLAGS ?= -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: deps build run test unit image clean

deps:
	scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j2

# Starts a local PostgreSQL under .hub/ when HUB_DATABASE_URL is unset, then
# runs hubd in the foreground. Extra hubd flags: make run ARGS="--listen=..."
run: build
	scripts/run-hubd $(ARGS)

# Every test: unit, integration (real PostgreSQL, real hubd) and end to end.
test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 900

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

# The image of the Dockerfile, built with podman from a Debian base made by
# mmdebstrap (no Docker engine), then hubd run from it and checked
# (docs/deploy.md, "1. The image"). About half an hour: not in `test`.
image:
	scripts/build-image
	tests/image/run

clean:
	rm -rf $(BUILD)
