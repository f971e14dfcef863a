# Reins: `make setup` installs the Debian packages, `make run` runs the main job on the built-in
# simulated default, `make test` sets up and runs every test.

SWIFT ?= swift
APT_PACKAGES := pkg-config tmux libopencv-dev libserialport-dev libncurses-dev libopenblas-dev \
	libmujoco-dev libosmesa6-dev libegl1 libegl-mesa0 libhdf5-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build run test clean

# Installs only what is missing, so a set-up machine returns at once.
setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "setup: all $(words $(APT_PACKAGES)) Debian packages present"; \
	fi

build: setup
	$(SWIFT) build -c release

# The main job: check the machine, then render the simulated scene offscreen into out/frame.png.
run: build
	@mkdir -p out
	.build/release/reins doctor
	.build/release/reins sim render --robot so101 --size 256 --out out/frame.png

test: setup
	$(SWIFT) test

clean:
	rm -rf .build out
