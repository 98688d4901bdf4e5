# The two commands of the README are `make demo` and `make test`; both run the set-up first (idempotent).
PYTHON ?= python3
CARGO ?= cargo

.PHONY: setup demo test bench clippy ci
setup:
	$(PYTHON) models/setup.py

demo: setup
	$(CARGO) run --example expressions

test: setup
	$(CARGO) test --features egui,replicon

bench: setup
	$(CARGO) bench --features replicon

clippy:
	$(CARGO) clippy --all-targets --all-features -- -D warnings

ci:
	bash .ci/run
