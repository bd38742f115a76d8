# sam/sam.mk, included by the Makefile: the targets `sam build` runs for the
# resources of template.yaml that have `Metadata: BuildMethod: makefile`, and
# `release` (the layer and the destinations-replay command). All of them
# work without SAM.
#
# sam build copies CodeUri (the repository root) to a scratch directory and
# runs `make build-<LogicalId>` there with ARTIFACTS_DIR set to where the
# resource's files must go. It does not say which architecture it builds for,
# so the architecture comes from ARCH (x86_64 or arm64; amd64 and aarch64 are
# accepted too), default x86_64. Keep it equal to the template's parameter:
#
#   ARCH=arm64 sam build --parameter-overrides Architecture=arm64
#
# By hand: make build-DestinationsLayer ARTIFACTS_DIR=/tmp/layer [ARCH=arm64]

.PHONY: build-DestinationsLayer build-SampleFunction build-ConsumerFunction

sam_arch_x86_64  := x86_64
sam_arch_amd64   := x86_64
sam_arch_arm64   := arm64
sam_arch_aarch64 := arm64

# Expanded only in the recipes below, so other targets never see the errors.
sam_arch = $(or $(sam_arch_$(or $(ARCH),x86_64)),$(error ARCH=$(ARCH): want x86_64 or arm64, as the template's Architecture parameter))
sam_artifacts = $(or $(ARTIFACTS_DIR),$(error ARTIFACTS_DIR is not set: sam build sets it; by hand run make $@ ARTIFACTS_DIR=DIR))

# Static executables for Lambda's OS-only runtime; lambda.norpc leaves out
# aws-lambda-go's RPC mode, which provided.al2023 never uses.
sam_go_build = GOOS=linux GOARCH=$(goarch_$(sam_arch)) $(GO) build -trimpath -tags lambda.norpc -ldflags '$(LDFLAGS)'

## build-DestinationsLayer: the layer's files in ARTIFACTS_DIR: extensions/destinations, destinations-wrapper, bootstrap
build-DestinationsLayer:
	$(MAKE) --no-print-directory layer-dir ARCH=$(sam_arch) DIR=$(sam_artifacts)

## build-SampleFunction: the Go sample in ARTIFACTS_DIR, named as its Handler (the layer's bootstrap runs it)
build-SampleFunction:
	$(sam_go_build) -o $(sam_artifacts)/function ./sam/function

## build-ConsumerFunction: the consumer in ARTIFACTS_DIR as bootstrap (it runs without the layer)
build-ConsumerFunction:
	$(sam_go_build) -o $(sam_artifacts)/bootstrap ./sam/consumer

# sha256sum (GNU coreutils) or shasum (macOS), in the same output format.
sam_sha256 = $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo shasum -a 256)

# The replay command, for the machines that re-drive failures: a static
# executable named destinations-replay, zipped with its mode, per architecture.
replay_zips := destinations-replay-linux-x86_64.zip destinations-replay-linux-arm64.zip

$(BUILD)/destinations-replay-linux-%.zip: FORCE
	rm -rf $(BUILD)/replay-$* && mkdir -p $(BUILD)/replay-$*
	GOOS=linux GOARCH=$(goarch_$*) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BUILD)/replay-$*/destinations-replay ./cmd/replay
	rm -f $@ && $(GO) run ./internal/mkzip $@ $(BUILD)/replay-$*

## release: both layer zips and both destinations-replay zips with VERSION stamped (make release VERSION=v1.2.3), and build/SHA256SUMS
release: layer $(addprefix $(BUILD)/,$(replay_zips))
	cd $(BUILD) && $(sam_sha256) layer-x86_64.zip layer-arm64.zip $(replay_zips) > SHA256SUMS
	@echo "release $(VERSION):" && cat $(BUILD)/SHA256SUMS
