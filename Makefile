# Reins: `make setup` installs the Debian packages, `make run` runs the main job on the built-in
# simulated default, `make test` sets up and runs every test.

SWIFT ?= swift
APT_PACKAGES := pkg-config tmux libopencv-dev libserialport-dev libncurses-dev libopenblas-dev \
	libmujoco-dev libosmesa6-dev libegl1 libegl-mesa0 libhdf5-dev iproute2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup build run run-pick test sanitize clean

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

# The main job: human-in-the-loop training on the simulated so101's reach task, in the console when
# there is a terminal (the scripted supervisor takes over when the policy strays; keyboard takeover
# stays live), with progress lines otherwise. Rewards come from the keys, as on a real arm: a
# stand-in operator presses y when the twin shows the task done. Ten scripted demonstrations are recorded first; a
# second `make run` resumes the run in out/reach. --min-utd 1.5 holds each episode until the learner has made the
# updates per step the README's run made, so a slower or busier machine takes longer instead of learning less.
REINS := .build/release/reins
run: build
	@mkdir -p out
	$(REINS) doctor
	@[ -d out/demos ] || { rm -rf out/demos.partial && \
		$(REINS) record --robot so101 --task reach --episodes 10 --out out/demos.partial --sim --operator scripted --reward keys --no-console --seed 7 && \
		mv out/demos.partial out/demos; }
	@train="$(REINS) train --robot so101 --task reach --sim --reward keys --demos out/demos --run out/reach --steps 4000 --seed 7 --min-utd 1.5"; \
		[ -d out/reach/checkpoints ] && train="$$train --resume"; [ -t 0 ] && [ -t 1 ] || train="$$train --no-console"; \
		echo "$$train"; $$train
	$(REINS) eval --robot so101 --task reach --checkpoint out/reach --episodes 50 --sim --no-console

# Pick from pixels as on a real arm, in out/pick: labelled scripted episodes (also the demos), a
# first run rewarded by the keys that records the states the policy visits, a classifier on both,
# a second short run rewarded by it that records where it misses, the classifier trained on from
# there (--resume), then 15,000 steps of training rewarded by it and a 50-episode evaluation. The
# twin only judges: the stand-in presses y and labels frames a person's delay after it sees the
# cube lifted. About an hour on two cores; each finished stage is kept, so it resumes. PICK_SEED and
# PICK_STEPS set the long run's seed and length (make run-pick PICK_SEED=2 PICK_STEPS=30000). Every training stage
# holds --min-utd 0.5, the ratio of the slowest measured run that reached 98 %. PICK_STAND_IN gives every stage's
# stand-in operator a person's mistakes (make run-pick PICK=out/pick-miss PICK_STAND_IN="--stand-in-miss 0.2").
PICK ?= out/pick
PICK_SEED ?= 1
PICK_STEPS ?= 15000
PICK_STAND_IN ?=
PICK_COMMON := --robot so101 --task pick --sim --cameras front,wrist --operator scripted --no-console --min-utd 0.5 $(PICK_STAND_IN)
run-pick: build
	@mkdir -p $(PICK)
	@[ -d $(PICK)/labelled ] || { rm -rf $(PICK)/labelled.partial && \
		$(REINS) record --robot so101 --task pick --episodes 30 --out $(PICK)/labelled.partial --sim --operator scripted --reward keys --past-success 20 --no-console --seed 11 $(PICK_STAND_IN) && \
		mv $(PICK)/labelled.partial $(PICK)/labelled; }
	@[ -d $(PICK)/online ] || { rm -rf $(PICK)/online.partial $(PICK)/collect && \
		$(REINS) train $(PICK_COMMON) --reward keys --demos $(PICK)/labelled --steps 1500 --seed 21 --run $(PICK)/collect --record $(PICK)/online.partial && \
		mv $(PICK)/online.partial $(PICK)/online; }
	@[ -f $(PICK)/reward.safetensors ] || $(REINS) reward train --data $(PICK)/labelled --data $(PICK)/online --cameras front,wrist --seed 1 --out $(PICK)/reward.safetensors
	@[ -d $(PICK)/online-2 ] || { rm -rf $(PICK)/online-2.partial $(PICK)/collect-2 && \
		$(REINS) train $(PICK_COMMON) --reward classifier:$(PICK)/reward.safetensors --demos $(PICK)/labelled --steps 1500 --seed 22 --run $(PICK)/collect-2 --record $(PICK)/online-2.partial && \
		mv $(PICK)/online-2.partial $(PICK)/online-2; }
	@[ -f $(PICK)/reward-2.safetensors ] || $(REINS) reward train --resume $(PICK)/reward.safetensors --data $(PICK)/online-2 --seed 2 --out $(PICK)/reward-2.safetensors
	@train="$(REINS) train $(PICK_COMMON) --reward classifier:$(PICK)/reward-2.safetensors --demos $(PICK)/labelled --steps $(PICK_STEPS) --seed $(PICK_SEED) --run $(PICK)/run"; \
		[ -d $(PICK)/run/checkpoints ] && train="$$train --resume"; echo "$$train"; $$train
	$(REINS) eval --robot so101 --task pick --checkpoint $(PICK)/run --episodes 50 --sim --no-console

test: setup
	$(SWIFT) test

# The concurrency suites (control loop, episode runner, emulators (factory servos, calibrating hands) and the EtherCAT segment, learner,
# paced Pendulum, shard pool, cameras, streams, GL) under ThreadSanitizer; the codecs and file readers
# (robot files edited in place, device access, EtherCAT frames, SII and CoE, servo packets, HDF5
# and episode files, safetensors, TensorBoard events, replay buffers, the reward classifier and its
# data) under AddressSanitizer. Each builds in a folder of its own; a report fails the run.
TSAN_SUITES := DriveTwinTests|ServoSetupTests|CalibratingHandsTests|EtherCATBusTests|EtherCATServiceTests|EtherCATDriveTests|EtherCATFaultTests|ControlLoopTests|EpisodeRunnerTests|StationTests|ShardPoolTests|EpisodeLabellingTests|LearnerTests|PacedPendulumTests|TwinBusTests|ServoBusTests|CameraStreamTests|OpenCVCameraTests|GLThreadTests|MJPEGTests
ASAN_SUITES := RobotFileEditorTests|DeviceAccessTests|EtherCATCodecTests|EtherCATBusTests|KernelTests|LayerGradientTests|DynamixelCodecTests|FastSyncReadTests|FeetechCodecTests|OpenCVTests|SerialLineTests|HDF5Tests|EpisodeFileTests|SafetensorsTests|TensorBoardTests|ReplayBufferTests|CheckpointTests|RewardClassifierTests|RewardTrainingTests
sanitize: setup
	TSAN_OPTIONS=halt_on_error=1 $(SWIFT) test --sanitize=thread --scratch-path .build-tsan --filter '$(TSAN_SUITES)'
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --sanitize=address --scratch-path .build-asan --filter '$(ASAN_SUITES)'

clean:
	rm -rf .build .build-tsan .build-asan out
