"""The losses of Zakharov et al. 2019.

Generator and embedder: L = L_CNT + L_ADV + L_MCH
  L_CNT  content: perceptual distance (VGG19 features, L1, weighted) when --perceptual-weights gives a
         VGG19 state dict; without weights (none can be downloaded here) an L1 distance on pixels at three
         scales stands in. The pixel loss reproduces colour and layout but gives blurrier detail than the
         paper's VGG19 + VGGFace losses; the adversarial and feature-matching terms restore some sharpness.
  L_ADV  -D(x^, y) + lambda_FM * feature matching (L1 between the discriminator's block features of the
         real and generated frame).
  L_MCH  embedding match: |W_i - e_i|_1, pulls the discriminator's per-video column and the embedder's
         vector together (meta-learning only).
Discriminator: hinge, max(0, 1 + D(x^)) + max(0, 1 - D(x)).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from nets import VGG19Features


class Content:
    def __init__(self, weights: Path | None, device: torch.device):
        self.vgg = None
        if weights is not None:
            vgg = VGG19Features()
            state = torch.load(weights, map_location="cpu", weights_only=True)
            # torchvision's full VGG19 state dict, or just its `features`.
            state = {k: v for k, v in state.items() if k.startswith("features.")}
            missing, _ = vgg.load_state_dict(state, strict=False)
            missing = [m for m in missing if m.startswith("features.")]
            if missing:
                raise SystemExit(f"error: {weights}: not a torchvision VGG19 state dict (missing {missing[:3]}...)")
            self.vgg = vgg.to(device).eval().requires_grad_(False)

    @property
    def kind(self) -> str:
        return "vgg19" if self.vgg is not None else "pixel-l1"

    def __call__(self, fake, real):
        if self.vgg is not None:
            loss = 0.0
            for w, a, b in zip([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0], self.vgg(fake), self.vgg(real)):
                loss = loss + w * F.l1_loss(a, b)
            return loss * 10.0
        loss = F.l1_loss(fake, real)
        for s in (2, 4):
            loss = loss + F.l1_loss(F.avg_pool2d(fake, s), F.avg_pool2d(real, s))
        return loss * 10.0


def feature_matching(fake_feats, real_feats):
    return sum(F.l1_loss(f, r.detach()) for f, r in zip(fake_feats, real_feats)) / len(fake_feats)


def hinge_d(real_score, fake_score):
    return F.relu(1.0 - real_score).mean() + F.relu(1.0 + fake_score).mean()


def embedding_match(w, e):
    return (w - e).abs().mean()
