# lambda-destinations. `make demo` shows it working; `make test` runs every test.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BUILD   := build
export CGO_ENABLED := 0

goarch_x86_64 := amd64
goarch_arm64  := arm64

.PHONY: all demo test vet layer bench size release clean

all: layer

## demo: build the layer and the sample function, run them under the Lambda emulator, print the records
demo:
	$(GO) run ./cmd/demo

## test: vet, format and go.mod checks, and every test with the race detector
test: vet
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

vet:
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod and go.sum are not tidy: run go mod tidy (the diff is above)"; exit 1; }

## layer: build/layer-x86_64.zip and build/layer-arm64.zip
layer: $(BUILD)/layer-x86_64.zip $(BUILD)/layer-arm64.zip

$(BUILD)/layer-%.zip: FORCE
	rm -rf $(BUILD)/layer-$* && mkdir -p $(BUILD)/layer-$*
	$(MAKE) --no-print-directory layer-dir ARCH=$* DIR=$(BUILD)/layer-$*
	rm -f $@ && $(GO) run ./internal/mkzip $@ $(BUILD)/layer-$*

# layer-dir ARCH=x86_64|arm64 DIR=...: the layer's files, as Lambda unpacks them under /opt.
layer-dir:
	mkdir -p $(DIR)/extensions
	GOOS=linux GOARCH=$(goarch_$(ARCH)) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIR)/extensions/destinations ./cmd/destinations
	cp layer/destinations-wrapper layer/bootstrap $(DIR)/
	chmod 755 $(DIR)/destinations-wrapper $(DIR)/bootstrap $(DIR)/extensions/destinations

## bench: what the layer costs a function, beside the same function alone and with a
## do-nothing extension, under the emulator: tables, budgets (exit 1 when one is not kept), build/bench.json; about a minute
bench: layer
	$(GO) run ./cmd/bench -out $(BUILD)/bench.json $(BENCHFLAGS)

## size: build each layer zip as `layer` does and check it against its budget (also in `test`)
size:
	$(GO) test -count=1 -run TestLayerZipSize -v ./layer/

clean:
	rm -rf $(BUILD)

FORCE:

-include sam/sam.mk
