# Voronka: `make run` starts the server with the example funnels; `make test`
# runs every check CI runs. Both do their own set-up on a fresh machine.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
GODIRS := cmd engine adapters server internal flows tools

.PHONY: run test build check unit flows chaos bench fuzz fuzz-short fuzz-list schema clean ui ui-deps ui-test ui-e2e ui-bench ui-bench-inbox

# The builder (builder-ui) is built first and embedded into the binary.
build: ui
	$(GO) build -o $(BIN)/voronka ./cmd/voronka

run: build
	$(BIN)/voronka serve

test: check unit flows fuzz-short chaos ui-test
	@echo "make test: all checks passed"

# gofmt and go vet, for the main module and the test-server module.
check:
	@unformatted=$$(gofmt -l $$(find $(GODIRS) -name '*.go' -not -path '*/node_modules/*' 2>/dev/null)); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	tools/mongotest/go.sh vet ./...
	@# test names chaos; a merge once dropped its recipe and make ran nothing for it.
	@$(MAKE) -n --no-print-directory chaos | grep -q 'tools/chaostest -plan short' || \
		{ echo "make chaos would not run tools/chaostest"; exit 1; }

# Unit, integration and end-to-end tests, with the race detector. Mongo-backed
# tests run against $$MONGO_URI or a FerretDB test server started for them;
# then the test server's own tests (its module is separate).
unit:
	tools/with-mongo.sh $(GO) test -race -count=1 ./...
	tools/mongotest/go.sh test -count=1 ./...

# The example funnels validate and pass their conversation tests.
flows: build
	$(BIN)/voronka validate -q flows
	$(BIN)/voronka test flows

bench:
	tools/with-mongo.sh $(GO) test -run XXX -bench . -benchmem ./engine/...

# Every fuzz target, as package:Target: each parser of outside input (flow
# YAML/JSON, expressions and templates, Telegram, WhatsApp, Viber and VK
# webhooks, web chat frames, the API's request bodies) and the engine's step and state.
FUZZ_TARGETS := \
	./engine/flow:FuzzLoad \
	./engine/flow:FuzzEncodeRoundTrip \
	./engine/eval:FuzzCompileAndEval \
	./engine/eval:FuzzRenderTemplate \
	./engine:FuzzStep \
	./engine:FuzzDecodeState \
	./adapters/telegram:FuzzHandleWebhook \
	./adapters/telegram:FuzzSplitText \
	./adapters/webchat:FuzzDecodeFrame \
	./adapters/webchat:FuzzSession \
	./adapters/whatsapp:FuzzWebhook \
	./adapters/viber:FuzzWebhook \
	./adapters/vk:FuzzWebhook \
	./server:FuzzAPIBodies

# make fuzz runs every target for FUZZTIME (longer runs: FUZZTIME=10m make
# fuzz); make fuzz-short, part of make test, runs each for 3,000 inputs (about
# 3 s for the slowest). A count, not a time: Go 1.26's fuzz coordinator can
# fail a target with "context deadline exceeded" when a time budget ends
# while a worker is mid-input (go.dev/issue/75804, fixed in Go 1.27). A Fuzz
# function missing from FUZZ_TARGETS fails both. New failing inputs are
# written to the package's testdata/fuzz, where plain go test replays them.
# Minimizing a failure is capped by runs, not time: a minute per input
# (go's default) stalls a short run on a machine busy with other work.
FUZZTIME ?= 30s
FUZZMINIMIZE ?= 500x
fuzz: fuzz-list
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) "$${t%%:*}"; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3000x

# Every func FuzzX in the module is in FUZZ_TARGETS, and every target there exists.
fuzz-list:
	@missing=0; for t in $$(grep -rlE '^func Fuzz[A-Za-z0-9_]*\(' --include='*_test.go' $(GODIRS) | \
		xargs grep -hoE '^func Fuzz[A-Za-z0-9_]*' | sed 's/^func //' | sort -u); do \
		case " $(FUZZ_TARGETS) " in *":$$t "*) ;; *) echo "fuzz target $$t is not in FUZZ_TARGETS (Makefile)"; missing=1;; esac; \
	done; for t in $(FUZZ_TARGETS); do \
		grep -qs "^func $${t#*:}(" $${t%%:*}/*_test.go || { echo "FUZZ_TARGETS names $$t, which does not exist"; missing=1; }; \
	done; exit $$missing

# The crash-and-outage test's short plan, on bolt and on the MongoDB test
# server (README "Crash and outage test"; -plan long for the full storms).
chaos: build
	$(GO) run ./tools/chaostest -plan short
	tools/with-mongo.sh sh -c '$(GO) run ./tools/chaostest -plan short -mongo "$$MONGO_URI"'

# Regenerates engine/flow/schema.json after a change to the node specs.
schema:
	$(GO) run ./cmd/voronka schema > engine/flow/schema.json

clean:
	rm -rf $(BIN) builder-ui/node_modules builder-ui/dist/assets builder-ui/dist/index.html

# The builder: npm ci from the committed package-lock, then a Vite build
# into builder-ui/dist, which builder-ui/embed.go embeds.
ui: ui-deps
	cd builder-ui && npm run build

ui-deps: builder-ui/node_modules/.package-lock.json

builder-ui/node_modules/.package-lock.json: builder-ui/package-lock.json
	cd builder-ui && npm ci --no-audit --no-fund

# The builder's type check, Vitest unit tests and the browser end-to-end
# tests of the builder and of the web chat widget on the demo page
# (playwright-core with the machine's Chromium; in CI a missing
# Chromium fails the run). Screenshots: artifacts/screenshots.
ui-test: ui-deps build
	cd builder-ui && npm run typecheck && npm test
	cd builder-ui && npm run e2e

ui-e2e: build
	cd builder-ui && npm run e2e

# Opens a generated 500-node flow in headless Chromium and measures the
# time to open it and the frame times while dragging a node.
ui-bench: build
	cd builder-ui && npm run bench

# Opens the operator inbox with 10,000 conversations in headless Chromium and
# measures the time to open it and the frame times while scrolling the list.
ui-bench-inbox: build
	cd builder-ui && npm run bench:inbox
