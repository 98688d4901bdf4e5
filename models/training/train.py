#!/usr/bin/env python3
"""Train, fine-tune and export the few-shot talking-head model (Zakharov et al. 2019) for bevy_talking_head.

    # 1. frames + landmarks from videos, with the crate's own crop and tracker
    cargo run --release --example prepare_training_data -- --size 64 --out data/ videos/*.mp4
    # 2. meta-learning over all the videos
    python models/training/train.py meta --data data/ --out runs/meta --resolution 64 --steps 20000
    # 3. few-shot fine-tuning on K frames of one person (the last 20 % of its frames are held out)
    python models/training/train.py finetune --data data/person --from runs/meta/checkpoint.pt \\
        --out runs/person --shots 8 --steps 400
    # 4. the two ONNX models of the crate's contract
    python models/training/train.py export --checkpoint runs/person/checkpoint.pt --out models/neural/person

Every stage writes OUT/checkpoint.pt every --save-every steps and at the end (atomically); --resume goes on
from it. Progress: a line every --log-every steps; sample grids (sketch | real | generated) in
OUT/samples/. See models/training/README.md for the flags and what the optional perceptual weights change.
"""

from __future__ import annotations

import argparse
import copy
import warnings
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data as data_mod  # noqa: E402
import losses  # noqa: E402
import metrics  # noqa: E402
import sketch as sketch_mod  # noqa: E402
from nets import Discriminator, Embedder, Generator, strip_spectral_norm  # noqa: E402

CHECKPOINT_VERSION = 1


def log(msg: str) -> None:
    print(msg, flush=True)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build(cfg: dict, videos: int):
    E = Embedder(cfg["resolution"], cfg["channels"], cfg["embedding"])
    G = Generator(cfg["resolution"], cfg["channels"], cfg["embedding"], cfg["residual_blocks"])
    D = Discriminator(cfg["resolution"], cfg["channels"], cfg["embedding"], videos)
    return E, G, D


def save_atomic(obj, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def save_state(path: Path, stage: str, step: int, nets: dict, opts: dict, rng, **extra) -> None:
    """Everything a run needs to go on exactly where it stopped: networks, optimisers, step and both random
    generators, plus the stage's own `extra` entries."""
    save_atomic(dict(version=CHECKPOINT_VERSION, stage=stage, step=step, rng=rng.bit_generator.state,
                     torch_rng=torch.get_rng_state(), **{k: v.state_dict() for k, v in {**nets, **opts}.items()},
                     **extra), path)


def restore_state(ck: dict, nets: dict, opts: dict, rng) -> int:
    """Loads what save_state wrote into `nets`, `opts` and `rng`; returns the step."""
    for k, v in {**nets, **opts}.items():
        v.load_state_dict(ck[k])
    rng.bit_generator.state = ck["rng"]
    torch.set_rng_state(ck["torch_rng"])
    return ck["step"]


def load_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"error: {path}: no such checkpoint")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # a truncated or foreign file
        raise SystemExit(f"error: {path}: not a checkpoint of this training code ({e})")
    if not isinstance(ck, dict) or ck.get("version") != CHECKPOINT_VERSION:
        raise SystemExit(f"error: {path}: checkpoint format {ck.get('version') if isinstance(ck, dict) else '?'}, "
                         f"this code reads {CHECKPOINT_VERSION}")
    return ck


def save_samples(path: Path, sketches, reals, fakes) -> None:
    from PIL import Image

    rows = [np.concatenate([s, r, f], axis=1) for s, r, f in zip(sketches, reals, fakes)]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


class Progress:
    def __init__(self, stage: str, start: int, total: int):
        self.stage, self.start, self.total = stage, start, total
        self.t0 = time.time()

    def line(self, step: int, parts: dict) -> None:
        done = step - self.start
        rate = done / max(time.time() - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        eta_s = f"{eta / 60:.1f} min" if math.isfinite(eta) else "?"
        terms = "  ".join(f"{k} {v:.3f}" for k, v in parts.items())
        log(f"[{self.stage}] step {step}/{self.total}  {terms}  {rate:.2f} steps/s  eta {eta_s}")


def common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="run folder: checkpoint.pt, samples/")
    p.add_argument("--steps", type=int, default=1000, help="total steps of this stage")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr-g", type=float, default=5e-5, help="generator and embedder (paper: 5e-5)")
    p.add_argument("--lr-d", type=float, default=2e-4, help="discriminator (paper: 2e-4)")
    p.add_argument("--fm-weight", type=float, default=10.0, help="feature matching (paper: 10)")
    p.add_argument("--adv-weight", type=float, default=1.0, help="adversarial term of the generator")
    p.add_argument("--perceptual-weights", type=Path, default=None,
                   help="torchvision VGG19 state dict (.pth) for the perceptual content loss; without it a "
                        "multi-scale pixel L1 loss stands in (see README.md)")
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--sample-every", type=int, default=500)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="go on from OUT/checkpoint.pt")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")


def prepare_out(args) -> Path | None:
    args.out.mkdir(parents=True, exist_ok=True)
    ck = args.out / "checkpoint.pt"
    if ck.exists() and not args.resume:
        raise SystemExit(f"error: {ck} exists; pass --resume to go on from it, or choose another --out")
    return ck if ck.exists() else None


def optimisers(E, G, D, args, finetune_params=None):
    g_params = list(G.parameters()) + ([] if E is None else list(E.parameters()))
    g_params = [p for p in g_params if p.requires_grad]
    d_params = [p for p in D.parameters() if p.requires_grad] + (finetune_params or [])
    return (torch.optim.Adam(g_params, lr=args.lr_g, betas=(0.5, 0.999)),
            torch.optim.Adam(d_params, lr=args.lr_d, betas=(0.5, 0.999)))


def adversarial_step(D, content, opt_g, opt_d, fake, target, tsketch, args, column, extra_g=0.0, extra_d=None):
    """One update of the generator side (content + adversarial + feature matching + `extra_g`), then one
    of the discriminator (hinge + `extra_d()`). `column` picks D's column: `video=` or `w=`."""
    # The generator side's backward goes through D without filling D's gradients (the discriminator
    # step clears them anyway); every D parameter is trainable, so True restores it.
    D.requires_grad_(False)
    score_fake, feats_fake = D(fake, tsketch, **column)
    with torch.no_grad():
        _, feats_real = D(target, tsketch, **column)
    l_cnt = content(fake, target)
    l_adv = -score_fake.mean() * args.adv_weight
    l_fm = losses.feature_matching(feats_fake, feats_real) * args.fm_weight
    opt_g.zero_grad(set_to_none=True)
    (l_cnt + l_adv + l_fm + extra_g).backward()
    opt_g.step()
    D.requires_grad_(True)
    score_real, _ = D(target, tsketch, **column)
    score_fake, _ = D(fake.detach(), tsketch, **column)
    l_d = losses.hinge_d(score_real, score_fake) + (extra_d() if extra_d else 0.0)
    opt_d.zero_grad(set_to_none=True)
    l_d.backward()
    opt_d.step()
    return dict(cnt=l_cnt.item(), adv=l_adv.item(), fm=l_fm.item(), d=l_d.item())


def start_run(args):
    """What meta-learning and fine-tuning do first: seed, threads, device, and the output folder (the
    checkpoint to resume from, if any)."""
    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    return pick_device(args.device), prepare_out(args)


# -- meta-learning ---------------------------------------------------------------------------------------

def meta(args) -> None:
    device, resume = start_run(args)
    cfg = dict(resolution=args.resolution, channels=args.channels, embedding=args.embedding,
               residual_blocks=args.residual_blocks, shots=args.shots)
    ck = load_checkpoint(resume) if resume else None
    if ck:
        if ck["stage"] != "meta":
            raise SystemExit(f"error: {resume}: a {ck['stage']} checkpoint, not meta-learning")
        cfg = ck["config"]
    try:
        videos = data_mod.load_folder(args.data, cfg["resolution"])
    except data_mod.DataError as e:
        raise SystemExit(f"error: {e}")
    names = [v.name for v in videos]
    if ck and ck["videos"] != names:
        raise SystemExit(f"error: {resume} was trained on videos {ck['videos']}, --data has {names}")
    log(f"[meta] {len(videos)} videos, {sum(len(v.frames) for v in videos)} frames at {cfg['resolution']} px, "
        f"device {device}")
    E, G, D = build(cfg, len(videos))
    content = losses.Content(args.perceptual_weights, device)
    E, G, D = E.to(device), G.to(device), D.to(device)
    opt_g, opt_d = optimisers(E, G, D, args)
    rng = np.random.default_rng(args.seed)
    step = 0
    nets, opts = dict(E=E, G=G, D=D), dict(opt_g=opt_g, opt_d=opt_d)
    if ck:
        step = restore_state(ck, nets, opts, rng)
        log(f"[meta] resumed at step {step} from {resume}")
    log(f"[meta] content loss: {content.kind}; E {sum(p.numel() for p in E.parameters()):,} G "
        f"{sum(p.numel() for p in G.parameters()):,} D {sum(p.numel() for p in D.parameters()):,} parameters")
    pools = [np.arange(len(v.frames)) for v in videos]
    progress = Progress("meta", step, args.steps)

    def checkpoint():
        save_state(args.out / "checkpoint.pt", "meta", step, nets, opts, rng, config=cfg, videos=names,
                   content=content.kind)

    fixed = data_mod.episode(videos, pools, min(4, max(len(videos), 2)), cfg["shots"], np.random.default_rng(1))
    while step < args.steps:
        frames, sketches, target, tsketch, vid = [t.to(device) for t in
                                                  data_mod.episode(videos, pools, args.batch, cfg["shots"], rng)]
        # Generator and embedder.
        e = E(frames, sketches)
        fake = G(tsketch, e)
        l_mch = losses.embedding_match(D.W(vid).detach(), e) * args.mch_weight
        # The discriminator's per-video columns are pulled towards the embeddings too.
        terms = adversarial_step(D, content, opt_g, opt_d, fake, target, tsketch, args, dict(video=vid),
                                 extra_g=l_mch,
                                 extra_d=lambda: losses.embedding_match(D.W(vid), e.detach()) * args.mch_weight)
        step += 1
        if step % args.log_every == 0 or step == args.steps:
            progress.line(step, {**terms, "mch": l_mch.item()})
        if step % args.sample_every == 0 or step == args.steps:
            # Eval mode: spectral norm's power iteration must not advance outside training steps (a resumed
            # run then ends exactly where a straight one does).
            E.eval(), G.eval()
            with torch.no_grad():
                fr, sk, tg, ts, _ = [t.to(device) for t in fixed]
                out = G(ts, E(fr, sk))
            E.train(), G.train()
            save_samples(args.out / "samples" / f"step_{step:06d}.png", data_mod.to_uint8(ts),
                         data_mod.to_uint8(tg), data_mod.to_uint8(out))
        if step % args.save_every == 0 or step == args.steps:
            checkpoint()
    log(f"[meta] done: {args.out / 'checkpoint.pt'} at step {step}")


# -- few-shot fine-tuning --------------------------------------------------------------------------------

def finetune(args) -> None:
    device, resume = start_run(args)
    ck = load_checkpoint(resume) if resume else None
    base = load_checkpoint(args.from_checkpoint) if not ck else None
    src = ck or base
    if not ck and base["stage"] != "meta":
        raise SystemExit(f"error: {args.from_checkpoint}: fine-tune from a meta-learning checkpoint")
    cfg = src["config"]
    try:
        videos = data_mod.load_folder(args.data, cfg["resolution"])
    except data_mod.DataError as e:
        raise SystemExit(f"error: {e}")
    if len(videos) != 1:
        raise SystemExit(f"error: {args.data}: fine-tuning takes one person's folder, found {len(videos)}")
    video = videos[0]
    train_idx, held_idx = data_mod.split(video, args.holdout)
    if ck:
        shots = np.asarray(ck["shots"])
    else:
        k = len(train_idx) if args.shots <= 0 else min(args.shots, len(train_idx))
        shots = train_idx[np.linspace(0, len(train_idx) - 1, k).round().astype(int)]
    E, G, D = build(cfg, len(src["videos"]))
    E.load_state_dict(src["E"]), G.load_state_dict(src["G"]), D.load_state_dict(src["D"])
    E, G, D = E.to(device).eval().requires_grad_(False), G.to(device), D.to(device)
    # e_new from the K shots (embedder frozen); psi' = P e_new + delta, delta learnt; D's column w' from e_new.
    frames = data_mod.to_tensor(video.frames)
    sketches = data_mod.to_tensor(video.sketches)
    with torch.no_grad():
        fr, sk = frames[shots].to(device), sketches[shots].to(device)
        per_shot = torch.cat([E.per_shot(fr[i:i + 16], sk[i:i + 16]) for i in range(0, len(fr), 16)])
        e_new = per_shot.mean(0)
    G.delta.requires_grad_(True)
    w_new = torch.nn.Parameter(e_new.clone())
    content = losses.Content(args.perceptual_weights, device)
    opt_g, opt_d = optimisers(None, G, D, args, finetune_params=[w_new])
    rng = np.random.default_rng(args.seed)
    step = 0
    nets, opts = dict(E=E, G=G, D=D), dict(opt_g=opt_g, opt_d=opt_d)
    if ck:
        step = restore_state(ck, nets, opts, rng)
        w_new.data.copy_(ck["w_new"].to(device))
        e_new = ck["embedding"].to(device)
        log(f"[finetune] resumed at step {step} from {resume}")
    log(f"[finetune] {video.name}: {len(shots)} shots for training, {len(held_idx)} frames held out, "
        f"content loss {content.kind}, device {device}")
    progress = Progress("finetune", step, args.steps)

    def checkpoint():
        save_state(args.out / "checkpoint.pt", "finetune", step, nets, opts, rng, config=cfg,
                   videos=src["videos"], person=video.name, shots=shots.tolist(), held_out=held_idx.tolist(),
                   embedding=e_new.detach().cpu(), w_new=w_new.detach().cpu(), content=content.kind)

    while step < args.steps:
        pick = rng.choice(shots, size=args.batch)
        target, tsketch = frames[pick].to(device), sketches[pick].to(device)
        # At run time the embedding is the mean over whichever portraits the user gives (often one): train
        # on the mean of a random subset of the shots, so any of them gives this person.
        e = torch.stack([per_shot[torch.from_numpy(rng.choice(len(shots), size=rng.integers(1, len(shots) + 1),
                                                              replace=False))].mean(0) for _ in pick])
        w = w_new.expand(len(pick), -1)
        fake = G(tsketch, e)
        terms = adversarial_step(D, content, opt_g, opt_d, fake, target, tsketch, args, dict(w=w))
        step += 1
        if step % args.log_every == 0 or step == args.steps:
            progress.line(step, terms)
        if step % args.sample_every == 0 or step == args.steps:
            show = held_idx[:: max(len(held_idx) // 4, 1)][:4] if len(held_idx) else shots[:4]
            G.eval()
            with torch.no_grad():
                out = G(sketches[show].to(device), e_new.expand(len(show), -1))
            G.train()
            save_samples(args.out / "samples" / f"step_{step:06d}.png", video.sketches[show],
                         video.frames[show], data_mod.to_uint8(out))
        if step % args.save_every == 0 or step == args.steps:
            checkpoint()
    if len(held_idx):
        G.eval()
        p, s = [], []
        with torch.no_grad():
            for i in range(0, len(held_idx), 16):
                idx = held_idx[i:i + 16]
                out = data_mod.to_uint8(G(sketches[idx].to(device), e_new.expand(len(idx), -1)))
                for o, r in zip(out, video.frames[idx]):
                    p.append(metrics.psnr(o, r))
                    s.append(metrics.ssim(o, r))
        report = dict(person=video.name, held_out=len(held_idx), psnr=float(np.mean(p)), ssim=float(np.mean(s)),
                      steps=step, shots=len(shots))
        (args.out / "heldout.json").write_text(json.dumps(report, indent=1))
        log(f"[finetune] held-out frames: PSNR {report['psnr']:.2f} dB, SSIM {report['ssim']:.3f} "
            f"({len(held_idx)} frames)")
    log(f"[finetune] done: {args.out / 'checkpoint.pt'} at step {step}")


# -- export ----------------------------------------------------------------------------------------------

class ExportEmbedder(torch.nn.Module):
    def __init__(self, E):
        super().__init__()
        self.E = E

    def forward(self, frames, sketches):
        return self.E.per_shot(frames, sketches).mean(0, keepdim=True)


def export(args) -> None:
    import onnx

    import contract_models  # its metadata writer; imports onnx too

    ck = load_checkpoint(args.checkpoint)
    cfg = ck["config"]
    E, G, _ = build(cfg, len(ck["videos"]))
    E.load_state_dict(ck["E"]), G.load_state_dict(ck["G"])
    E = strip_spectral_norm(copy.deepcopy(E)).eval()
    G = strip_spectral_norm(copy.deepcopy(G)).eval()
    r, d = cfg["resolution"], cfg["embedding"]
    args.out.mkdir(parents=True, exist_ok=True)
    version = sketch_mod.load_spec()["version"]
    common = {
        "talking_head.sketch_version": version,
        "talking_head.resolution": r,
        "talking_head.embedding_size": d,
        "talking_head.stage": ck["stage"],
        "talking_head.steps": ck["step"],
        "talking_head.content_loss": ck.get("content", "?"),
    }
    if ck["stage"] == "finetune":
        common["talking_head.person"] = ck["person"]
    k = cfg["shots"]
    frames, sketches = torch.rand(k, 3, r, r) * 2 - 1, torch.rand(k, 3, r, r) * 2 - 1
    emb = torch.randn(2, d)
    sketch = torch.rand(2, 3, r, r) * 2 - 1
    jobs = [
        ("embedder", ExportEmbedder(E), (frames, sketches), ["frames", "sketches"], ["embedding"],
         {"frames": {0: "K"}, "sketches": {0: "K"}},
         {"talking_head.contract": "neural_embedder", "talking_head.shots": k}),
        ("generator", G, (sketch, emb), ["sketch", "embedding"], ["image"],
         {"sketch": {0: "B"}, "embedding": {0: "B"}, "image": {0: "B"}},
         {"talking_head.contract": "neural_generator"}),
    ]
    for name, module, inputs, in_names, out_names, axes, meta in jobs:
        path = args.out / f"{name}.onnx"
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter's notes on instance norm and its own deprecation.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, inputs, str(path), input_names=in_names, output_names=out_names,
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        model = onnx.load(str(path))
        contract_models.metadata(model, {**common, **meta})
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
        # The export computes what PyTorch computes.
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = sess.run(None, {n: t.numpy() for n, t in zip(in_names, inputs)})[0]
        with torch.no_grad():
            want = module(*inputs).numpy()
        diff = float(np.abs(got - want).max())
        if diff > 1e-3:
            raise SystemExit(f"error: {path}: ONNX Runtime differs from PyTorch by {diff}")
        log(f"[export] {path} ({path.stat().st_size / 1e6:.1f} MB), matches PyTorch to {diff:.1e}")
    if ck["stage"] == "finetune":
        # The person's embedding as trained, for tools that skip the embedder.
        (args.out / "embedding.json").write_text(json.dumps(ck["embedding"].tolist()))
    log(f"[export] done: {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="stage", required=True)
    m = sub.add_parser("meta", help="meta-learning over a folder of videos")
    m.add_argument("--data", type=Path, required=True, help="folder of video folders")
    m.add_argument("--resolution", type=int, default=64, help="square size in pixels, a power of two")
    m.add_argument("--channels", type=int, default=32, help="base width of the networks (paper at 256 px: 64)")
    m.add_argument("--embedding", type=int, default=256, help="embedding length D (paper: 512)")
    m.add_argument("--residual-blocks", type=int, default=2, help="AdaIN residual blocks at the bottleneck")
    m.add_argument("--shots", type=int, default=8, help="K frames per embedding (paper: 8)")
    m.add_argument("--mch-weight", type=float, default=10.0, help="embedding match (paper: 80 on a sum)")
    common_args(m)
    f = sub.add_parser("finetune", help="few-shot fine-tuning on one person")
    f.add_argument("--data", type=Path, required=True, help="the person's video folder")
    f.add_argument("--from", dest="from_checkpoint", type=Path, required=True, help="meta checkpoint.pt")
    f.add_argument("--shots", type=int, default=8, help="frames to fine-tune on (0: every training frame)")
    f.add_argument("--holdout", type=float, default=0.2, help="part of the video held out (at its end)")
    common_args(f)
    e = sub.add_parser("export", help="embedder.onnx + generator.onnx of the crate's contract")
    e.add_argument("--checkpoint", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    {"meta": meta, "finetune": finetune, "export": export}[args.stage](args)


if __name__ == "__main__":
    main()
