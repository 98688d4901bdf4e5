# The two commands of the README are `make demo` and `make test`; both run the set-up first (idempotent).
PYTHON ?= python3
CARGO ?= cargo
# One feature set for tests and examples, so Bevy and the crate build once (DESIGN.md).
FEATURES ?= egui,replicon,fetch-runtime,mic

.PHONY: setup demo test bench clippy ci
setup:
	$(PYTHON) models/setup.py

demo: setup
	$(CARGO) run --example expressions

test: setup
	$(CARGO) test --features $(FEATURES)

bench: setup
	$(CARGO) bench --features replicon

clippy:
	$(CARGO) clippy --all-targets --all-features -- -D warnings

ci:
	bash .ci/run

# The training code end to end on frames the project makes (the demo portraits baked with two clips):
# a few steps of meta-learning and fine-tuning at 32 px, the ONNX export, and the Rust runtime on it.
# (No `setup` prerequisite here or below: `setup.py --training` does the whole set-up, training tools
# included.)
TRAIN_CHECK ?= target/train-check
TRAIN_PY = models/.venv-training/bin/python models/training/train.py
.PHONY: train-check
train-check:
	$(PYTHON) models/setup.py --training
	rm -rf $(TRAIN_CHECK) && mkdir -p $(TRAIN_CHECK)
	$(CARGO) build --features $(FEATURES) --example bake --example prepare_training_data
	$(CARGO) run -q --features $(FEATURES) --example bake -- assets/portraits/astronaut.png assets/clips/talk.face.ron --out $(TRAIN_CHECK)/frames/astronaut --size 128 --fps 12
	$(CARGO) run -q --features $(FEATURES) --example bake -- assets/portraits/astronaut_painted.png assets/clips/surprise.face.ron --out $(TRAIN_CHECK)/frames/painted --size 128 --fps 12
	rm -f $(TRAIN_CHECK)/frames/*/sheet.png $(TRAIN_CHECK)/frames/*/animation.gif
	$(CARGO) run -q --features $(FEATURES) --example prepare_training_data -- --out $(TRAIN_CHECK)/data --size 32 $(TRAIN_CHECK)/frames/astronaut $(TRAIN_CHECK)/frames/painted
	models/.venv-training/bin/python models/training/test_training.py $(TRAIN_CHECK)/data
	$(TRAIN_PY) meta --data $(TRAIN_CHECK)/data --out $(TRAIN_CHECK)/meta --resolution 32 --channels 8 --embedding 32 --shots 4 --batch 2 --steps 20 --log-every 5 --save-every 10 --sample-every 20
	$(TRAIN_PY) meta --data $(TRAIN_CHECK)/data --out $(TRAIN_CHECK)/meta --steps 30 --log-every 5 --batch 2 --resume
	$(TRAIN_PY) finetune --data $(TRAIN_CHECK)/data/astronaut --from $(TRAIN_CHECK)/meta/checkpoint.pt --out $(TRAIN_CHECK)/person --shots 4 --batch 2 --steps 10 --log-every 5
	$(TRAIN_PY) export --checkpoint $(TRAIN_CHECK)/person/checkpoint.pt --out $(TRAIN_CHECK)/export
	TALKING_HEAD_TRAINED_MODELS=$(CURDIR)/$(TRAIN_CHECK)/export $(CARGO) test --features $(FEATURES) --test neural_runtime

# Models for the neural bench: the training code's export at 256 px with its default widths (one step of
# meta-learning on baked frames: the weights are untrained, the cost is the same).
NEURAL_BENCH ?= target/neural-bench
.PHONY: neural-bench-models bench-neural
neural-bench-models:
	$(PYTHON) models/setup.py --training
	rm -rf $(NEURAL_BENCH) && mkdir -p $(NEURAL_BENCH)
	$(CARGO) run -q --features $(FEATURES) --example bake -- assets/portraits/astronaut.png assets/clips/talk.face.ron --out $(NEURAL_BENCH)/frames/astronaut --size 512 --fps 6
	rm -f $(NEURAL_BENCH)/frames/*/sheet.png $(NEURAL_BENCH)/frames/*/animation.gif
	$(CARGO) run -q --features $(FEATURES) --example prepare_training_data -- --out $(NEURAL_BENCH)/data --size 256 $(NEURAL_BENCH)/frames/astronaut
	$(TRAIN_PY) meta --data $(NEURAL_BENCH)/data --out $(NEURAL_BENCH)/meta --resolution 256 --steps 1 --batch 1 --shots 2
	$(TRAIN_PY) export --checkpoint $(NEURAL_BENCH)/meta/checkpoint.pt --out $(NEURAL_BENCH)/export

bench-neural: neural-bench-models
	$(CARGO) bench --features replicon --bench neural
