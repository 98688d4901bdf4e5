"""Tests of the training code (run by `make train-check`, on the folder it prepares):

    models/.venv-training/bin/python models/training/test_training.py DATA_DIR

- a run stopped and resumed ends with the same weights as a run straight through (checkpoints keep the
  models, optimisers, step and random state);
- an existing checkpoint is never overwritten without --resume;
- bad data is refused with a message naming the file;
- the export carries the contract's names, dynamic batch and metadata, and its generator draws different
  images for different sketches.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

HERE = Path(__file__).resolve().parent
TRAIN = [sys.executable, str(HERE / "train.py")]
DATA: Path = Path()
TINY = ["--resolution", "32", "--channels", "8", "--embedding", "16", "--shots", "2", "--batch", "2",
        "--log-every", "100", "--sample-every", "100", "--threads", "1"]


def run(*args, ok=True):
    p = subprocess.run([*TRAIN, *map(str, args)], capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise AssertionError(f"train.py {' '.join(map(str, args))} failed:\n{p.stdout}\n{p.stderr}")
    return p


class Training(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_a_resumed_run_ends_where_a_straight_run_does(self):
        run("meta", "--data", DATA, "--out", self.tmp / "straight", "--steps", 6, "--save-every", 100, *TINY)
        run("meta", "--data", DATA, "--out", self.tmp / "split", "--steps", 3, "--save-every", 3, *TINY)
        p = run("meta", "--data", DATA, "--out", self.tmp / "split", "--steps", 6, "--resume", "--threads", "1",
                "--batch", "2", "--log-every", "100", "--sample-every", "100")
        self.assertIn("resumed at step 3", p.stdout)
        a = torch.load(self.tmp / "straight" / "checkpoint.pt", weights_only=False)
        b = torch.load(self.tmp / "split" / "checkpoint.pt", weights_only=False)
        self.assertEqual(a["step"], 6)
        self.assertEqual(b["step"], 6)
        for net in ("E", "G", "D"):
            for k, v in a[net].items():
                self.assertTrue(torch.allclose(v, b[net][k], atol=1e-6), f"{net}.{k} differs after resuming")

    def test_a_checkpoint_is_not_overwritten_without_resume(self):
        run("meta", "--data", DATA, "--out", self.tmp / "run", "--steps", 1, *TINY)
        before = (self.tmp / "run" / "checkpoint.pt").read_bytes()
        p = run("meta", "--data", DATA, "--out", self.tmp / "run", "--steps", 2, *TINY, ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("checkpoint.pt exists; pass --resume", p.stderr)
        self.assertEqual((self.tmp / "run" / "checkpoint.pt").read_bytes(), before)

    def test_bad_data_is_refused_naming_the_file(self):
        bad = self.tmp / "data" / "video"
        shutil.copytree(next(p for p in sorted(DATA.iterdir()) if p.is_dir()), bad)
        meta = json.loads((bad / "landmarks.json").read_text())
        meta["frames"][1]["file"] = "missing.png"
        (bad / "landmarks.json").write_text(json.dumps(meta))
        p = run("meta", "--data", self.tmp / "data", "--out", self.tmp / "run", "--steps", 1, *TINY, ok=False)
        self.assertIn(str(bad / "missing.png"), p.stderr)
        p = run("meta", "--data", self.tmp / "data", "--out", self.tmp / "run2", "--steps", 1, "--resolution", "64",
                ok=False)
        self.assertIn("frames are 32 px, training at 64 px", p.stderr)
        self.assertIn(str(bad / "landmarks.json"), p.stderr)

    def test_the_export_follows_the_contract(self):
        person = next(p for p in sorted(DATA.iterdir()) if p.is_dir())
        run("meta", "--data", DATA, "--out", self.tmp / "meta", "--steps", 2, *TINY)
        run("finetune", "--data", person, "--from", self.tmp / "meta" / "checkpoint.pt", "--out",
            self.tmp / "person", "--steps", 2, "--shots", 3, "--batch", 2, "--log-every", 100, "--sample-every", 100)
        self.assertTrue((self.tmp / "person" / "heldout.json").exists())
        run("export", "--checkpoint", self.tmp / "person" / "checkpoint.pt", "--out", self.tmp / "export")
        emb = onnx.load(str(self.tmp / "export" / "embedder.onnx"))
        gen = onnx.load(str(self.tmp / "export" / "generator.onnx"))
        meta = {p.key: p.value for p in gen.metadata_props}
        self.assertEqual(meta["talking_head.contract"], "neural_generator")
        self.assertEqual(meta["talking_head.resolution"], "32")
        self.assertEqual(meta["talking_head.embedding_size"], "16")
        self.assertEqual(meta["talking_head.sketch_version"], "1")
        self.assertEqual(meta["talking_head.stage"], "finetune")
        self.assertEqual(meta["talking_head.person"], person.name)
        emeta = {p.key: p.value for p in emb.metadata_props}
        self.assertEqual(emeta["talking_head.shots"], "2")
        self.assertEqual([i.name for i in gen.graph.input], ["sketch", "embedding"])
        self.assertEqual([i.name for i in emb.graph.input], ["frames", "sketches"])
        g = ort.InferenceSession(str(self.tmp / "export" / "generator.onnx"), providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        sketch = np.full((3, 3, 32, 32), -1.0, dtype=np.float32)
        sketch[1, :, 10:20, 10:20] = 1.0
        sketch[2, 0, 5:8, :] = 1.0
        e = rng.standard_normal((1, 16)).astype(np.float32).repeat(3, 0)
        (img,) = g.run(None, {"sketch": sketch, "embedding": e})
        self.assertEqual(img.shape, (3, 3, 32, 32))
        self.assertTrue(np.all(np.abs(img) <= 1.0))
        self.assertGreater(np.abs(img[0] - img[1]).mean(), 1e-3)
        self.assertGreater(np.abs(img[0] - img[2]).mean(), 1e-3)


if __name__ == "__main__":
    DATA = Path(sys.argv.pop(1))
    unittest.main(verbosity=2)
