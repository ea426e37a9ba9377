# Developer entry points. The README's two commands are what CI and
# newcomers use; these are the pieces.
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: build test generate check-generate lint fuzz vmtest image

build:
	$(GO) build -o bin/kdriver ./cmd/kdriver

test:
	scripts/test.sh

# Regenerates committed generated code (bpf2go output, vmlinux.h).
generate:
	$(GO) generate ./...

# Fails when the committed generated code differs from what `make generate`
# produces, so the two never drift apart.
check-generate: generate
	@git diff --exit-code --stat -- '*.go' '*.o' '*.h' || \
		{ echo "generated code is stale: run make generate and commit" >&2; exit 1; }

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...

fuzz:
	KDRIVER_FUZZTIME=30s scripts/test.sh

# The container image (docker/Dockerfile): a static kdriver in a scratch
# image, entrypoint falco-driver-loader. IMAGE=name:tag to rename it.
IMAGE ?= kdriver:dev
image:
	mkdir -p bin/image
	CGO_ENABLED=0 $(GO) build -tags nokubernetes -trimpath -o bin/image/kdriver ./cmd/kdriver
	docker build -f docker/Dockerfile -t $(IMAGE) bin/image
