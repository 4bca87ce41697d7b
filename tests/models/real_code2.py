"""Small cases of public VGG code the tool had not seen (issue 29): each holds one defect's cause."""

import torch
import torch.nn.functional as F
from torch import nn


def _convs(widths, pool_after=()):
    layers, c = [], 3
    for i, w in enumerate(widths):
        layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU()]
        if i in pool_after:
            layers.append(nn.MaxPool2d(2))
        c = w
    return nn.Sequential(*layers)


class StyleLoss(nn.Module):
    """A style-transfer loss layer: keeps the Gram matrix of its input, returns the input."""

    def forward(self, x):
        n, c, h, w = x.shape
        f = x.reshape(n * c, h * w)
        self.gram = torch.mm(f, f.t()) / (c * h * w)
        return x


class StyleNet(nn.Module):
    """Five convs with style losses between them (Gatys et al., as the PyTorch tutorial builds it)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), StyleLoss(), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), StyleLoss(), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
            nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
        )  # fmt: skip

    def forward(self, x):
        return self.body(x)


class GramOutput(nn.Module):
    """The Gram matrix is the output: the backward runs both of its operands' gradients."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        f = self.conv(x).flatten(2)[0]
        return torch.mm(f, f.t())


class PcaHead(nn.Module):
    """An audio VGG's PCA projection: a frozen matrix times the embedding, the frozen operand first."""

    def __init__(self):
        super().__init__()
        self.features = _convs([8, 16], pool_after=(0, 1))
        self.fc = nn.Linear(16 * 4 * 4, 32)
        self.pca = nn.Parameter(torch.ones(16, 32), requires_grad=False)

    def forward(self, x):
        e = self.fc(self.features(x).flatten(1))
        return torch.mm(self.pca, e.t()).t()


class TwoBranchesBn(nn.Module):
    """A 3x3 and a 1x1 branch both read the image; BatchNorm at 1x1 refuses train mode at batch 1."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Conv2d(3, 8, 3, padding=1)
        self.one = nn.Conv2d(3, 8, 1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8))

    def forward(self, x):
        return self.head(F.relu(self.dense(x) + self.one(x)))


class RepBlock(nn.Module):
    """RepVGG's training-time block at stride 2: 3x3/s2/p1 plus 1x1/s2/p0, added."""

    def __init__(self, cin=3, cout=8):
        super().__init__()
        self.dense = nn.Conv2d(cin, cout, 3, 2, 1)
        self.one = nn.Conv2d(cin, cout, 1, 2, 0)

    def forward(self, x):
        return F.relu(self.dense(x) + self.one(x))


class DilatedBranch(nn.Module):
    """A dilated branch beside a plain one, the same stride: one jump, one centre."""

    def __init__(self):
        super().__init__()
        self.plain = nn.Conv2d(3, 8, 3, padding=1)
        self.dilated = nn.Conv2d(3, 8, 3, padding=2, dilation=2)

    def forward(self, x):
        return self.plain(x) + self.dilated(x)


class Strided(nn.Module):
    """Four 3x3/s2 blocks, then a merge of maps whose jumps differ (irregular)."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*[nn.Conv2d(3 if i == 0 else 8, 8, 3, 2, 1) for i in range(4)])
        self.skip = nn.Conv2d(3, 8, 1, 16)

    def forward(self, x):
        return self.blocks(x) + self.skip(x)


class Constants(nn.Module):
    """zeros_like / ones_like / full_like / new_zeros: no pixel, no FLOPs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        mask = torch.ones_like(y)
        bias = torch.full_like(y, 0.5) + y.new_zeros(y.shape)
        return y * mask + bias + torch.zeros_like(y)


class NoMacOps(nn.Module):
    """Ops with no MAC at all (an average pool over 3-D maps, a loss): macs are complete."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool3d = nn.AvgPool3d(2)

    def forward(self, x):
        y = self.conv(x)
        z = self.pool3d(y.unsqueeze(1))
        return F.mse_loss(y, torch.zeros_like(y)) + z.mean()


class ScalingLayer(nn.Module):
    """LPIPS's input normalisation: buffers used by its own forward, through functional calls."""

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188])[None, :, None, None])
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450])[None, :, None, None])

    def forward(self, x):
        return (x - self.shift) / self.scale


class Perceptual(nn.Module):
    def __init__(self):
        super().__init__()
        self.scaling = ScalingLayer()
        self.net = _convs([8, 8], pool_after=(0,))

    def forward(self, x):
        return self.net(self.scaling(x))


class MovesItself(nn.Module):
    """A constructor that moves the model to its device itself (a common training-script habit)."""

    def __init__(self, device="cpu"):
        super().__init__()
        self.device = torch.device(device)
        self.features = _convs([8, 16], pool_after=(0,))
        self.to(self.device)

    def forward(self, x):
        return self.features(x)


class IrregularThenStrided(nn.Module):
    """A merge of maps whose jumps differ (a map and an upsampled coarser one: irregular), then four
    3x3/s2 blocks: the irregular bound is the theoretical span, the same at every image size."""

    def __init__(self):
        super().__init__()
        self.fine = nn.Conv2d(3, 8, 3, padding=1)
        self.coarse = nn.Conv2d(3, 8, 3, 2, 1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.blocks = nn.Sequential(*[nn.Conv2d(8, 8, 3, 2, 1) for _ in range(4)])

    def forward(self, x):
        return self.blocks(self.fine(x) + self.up(self.coarse(x)))


class Volumetric(nn.Module):
    """A torch layer the tool has no formulas for that multiply-accumulates (Conv3d): MACs partial."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.conv3d = nn.Conv3d(1, 2, 3, padding=1)

    def forward(self, x):
        return self.conv3d(self.conv(x).unsqueeze(1))
