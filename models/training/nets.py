"""The three networks of Zakharov et al. 2019, "Few-Shot Adversarial Learning of Realistic Neural Talking
Head Models", scaled by two numbers (resolution, base channels) so that the same code trains a 32-pixel
smoke test on a CPU and a 256-pixel model on a GPU.

- Embedder E(x, y): a frame and its landmark sketch -> a D-vector; a person's embedding is the mean over
  K frames (shots).
- Generator G(y, e): a sketch -> an image. Downsampling residual blocks with instance normalisation, then
  residual and upsampling blocks with adaptive instance normalisation (AdaIN) whose scales and biases come
  from the embedding through one projection matrix P (psi = P e), plus a person-specific offset `delta`
  that is zero after meta-learning and learnt by few-shot fine-tuning (psi' = P e + delta, the paper's
  psi' initialised at P e_new).
- Discriminator D(x, y, i): a projection discriminator. V(x, y) -> a D-vector; score
  r = V . (W_i + w0) + b with a learnt column W_i per training video. Returns its block features too,
  for the feature-matching loss.

Spectral normalisation on every convolution and linear layer but P, as in the paper. Images, sketches and
outputs are RGB in -1..1, NCHW.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils import parametrize


def sn_conv(cin: int, cout: int, k: int = 3) -> nn.Module:
    return spectral_norm(nn.Conv2d(cin, cout, k, padding=k // 2))


def downsamplings(resolution: int) -> int:
    """Blocks from the resolution down to 8x8 (32 -> 2, 64 -> 3, 256 -> 5)."""
    n = int(round(math.log2(resolution / 8)))
    if n < 1 or 8 * 2**n != resolution:
        raise ValueError(f"resolution {resolution} must be a power of two, at least 16")
    return n


def widths(base: int, n: int) -> list[int]:
    """Channels after each downsampling: base*2, base*4, ..., at most base*8."""
    return [base * min(2 ** (i + 1), 8) for i in range(n)]


class ResDown(nn.Module):
    """Residual block that halves the size (BigGAN style), optional instance norm."""

    def __init__(self, cin: int, cout: int, norm: bool):
        super().__init__()
        self.c1, self.c2 = sn_conv(cin, cout), sn_conv(cout, cout)
        self.skip = sn_conv(cin, cout, 1)
        self.n1 = nn.InstanceNorm2d(cin, affine=True) if norm else nn.Identity()
        self.n2 = nn.InstanceNorm2d(cout, affine=True) if norm else nn.Identity()

    def forward(self, x):
        h = self.c1(F.relu(self.n1(x)))
        h = self.c2(F.relu(self.n2(h)))
        return F.avg_pool2d(h + self.skip(x), 2)


class Res(nn.Module):
    """Residual block at one size, no norm (embedder, discriminator)."""

    def __init__(self, c: int):
        super().__init__()
        self.c1, self.c2 = sn_conv(c, c), sn_conv(c, c)

    def forward(self, x):
        return x + self.c2(F.relu(self.c1(F.relu(x))))


def adain(x, scale_bias):
    """Instance-normalise x and apply per-sample scale (around 1) and bias: [B, 2C] -> [B, C, H, W]."""
    c = x.shape[1]
    gamma, beta = scale_bias[:, :c, None, None], scale_bias[:, c:, None, None]
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(2, 3), keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * (1.0 + gamma) + beta


class AdaRes(nn.Module):
    """Residual block with AdaIN; `up` doubles the size first."""

    def __init__(self, cin: int, cout: int, up: bool):
        super().__init__()
        self.up = up
        self.c1, self.c2 = sn_conv(cin, cout), sn_conv(cout, cout)
        self.skip = sn_conv(cin, cout, 1) if (cin != cout or up) else None
        self.sizes = [2 * cin, 2 * cout]

    def forward(self, x, psi):
        a, b = psi
        h = F.relu(adain(x, a))
        if self.up:
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        h = self.c1(h)
        h = self.c2(F.relu(adain(h, b)))
        return h + (self.skip(x) if self.skip is not None else x)


class Embedder(nn.Module):
    def __init__(self, resolution: int, base: int, dim: int):
        super().__init__()
        n = downsamplings(resolution)
        w = widths(base, n)
        self.stem = sn_conv(6, base)
        self.down = nn.Sequential(*[ResDown(a, b, norm=False) for a, b in zip([base] + w[:-1], w)])
        self.res = Res(w[-1])
        self.out = spectral_norm(nn.Linear(w[-1], dim))

    def per_shot(self, frames, sketches):
        """[N,3,R,R] x 2 -> [N, D]."""
        h = self.res(self.down(self.stem(torch.cat([frames, sketches], 1))))
        return self.out(F.relu(h).mean(dim=(2, 3)))

    def forward(self, frames, sketches):
        """[B, K, 3, R, R] x 2 -> [B, D]: the mean over the K shots."""
        b, k = frames.shape[:2]
        e = self.per_shot(frames.flatten(0, 1), sketches.flatten(0, 1))
        return e.view(b, k, -1).mean(1)


class Generator(nn.Module):
    def __init__(self, resolution: int, base: int, dim: int, residual_blocks: int = 2):
        super().__init__()
        n = downsamplings(resolution)
        w = widths(base, n)
        self.stem = sn_conv(3, base)
        self.stem_norm = nn.InstanceNorm2d(base, affine=True)
        self.down = nn.ModuleList([ResDown(a, b, norm=True) for a, b in zip([base] + w[:-1], w)])
        self.mid = nn.ModuleList([AdaRes(w[-1], w[-1], up=False) for _ in range(residual_blocks)])
        ups = list(reversed([base] + w[:-1]))
        self.up = nn.ModuleList([AdaRes(a, b, up=True) for a, b in zip(reversed(w), ups)])
        self.out = sn_conv(base, 3)
        self.out_size = 2 * base
        blocks = list(self.mid) + list(self.up)
        self.psi_sizes = [s for blk in blocks for s in blk.sizes] + [self.out_size]
        psi = sum(self.psi_sizes)
        # psi = P e (+ delta after fine-tuning). P has no spectral norm (the paper's projection matrix).
        self.project = nn.Linear(dim, psi)
        nn.init.normal_(self.project.weight, std=0.02)
        nn.init.zeros_(self.project.bias)
        self.delta = nn.Parameter(torch.zeros(psi), requires_grad=False)

    def psi(self, embedding):
        return self.project(embedding) + self.delta

    def forward(self, sketch, embedding):
        psi = torch.split(self.psi(embedding), self.psi_sizes, dim=1)
        h = self.stem_norm(self.stem(sketch))
        for blk in self.down:
            h = blk(h)
        i = 0
        for blk in list(self.mid) + list(self.up):
            h = blk(h, (psi[i], psi[i + 1]))
            i += 2
        h = F.relu(adain(h, psi[i]))
        return torch.tanh(self.out(h))


class Discriminator(nn.Module):
    def __init__(self, resolution: int, base: int, dim: int, videos: int):
        super().__init__()
        n = downsamplings(resolution)
        w = widths(base, n)
        self.stem = sn_conv(6, base)
        self.down = nn.ModuleList([ResDown(a, b, norm=False) for a, b in zip([base] + w[:-1], w)])
        self.res = Res(w[-1])
        self.to_vec = spectral_norm(nn.Linear(w[-1], dim))
        # W: one column per training video; w0 shared; b.
        self.W = nn.Embedding(max(videos, 1), dim)
        nn.init.normal_(self.W.weight, std=0.02)
        self.w0 = nn.Parameter(torch.zeros(dim))
        self.b = nn.Parameter(torch.zeros(1))

    def features(self, image, sketch):
        h = self.stem(torch.cat([image, sketch], 1))
        feats = [h]
        for blk in self.down:
            h = blk(h)
            feats.append(h)
        h = self.res(h)
        feats.append(h)
        return self.to_vec(F.relu(h).mean(dim=(2, 3))), feats

    def forward(self, image, sketch, video=None, w=None):
        """Score per sample; `video` indexes W, or `w` [B, D] replaces W_i (fine-tuning)."""
        v, feats = self.features(image, sketch)
        col = self.W(video) if w is None else w
        return (v * (col + self.w0)).sum(1) + self.b, feats


class VGG19Features(nn.Module):
    """torchvision's VGG19 `features` layout, so its ImageNet state dict loads (`--perceptual-weights`);
    returns relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 as in the paper's content loss."""

    CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512]
    TAPS = {1, 6, 11, 20, 29}

    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        h = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self.TAPS:
                out.append(h)
            if i >= max(self.TAPS):
                break
        return out


def strip_spectral_norm(module: nn.Module) -> nn.Module:
    """Bake the spectral-normalised weights into plain ones (for export)."""
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return module
