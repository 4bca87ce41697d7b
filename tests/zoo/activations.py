"""A VGG-11 written with other activations and norms: LeakyReLU, GELU, SiLU, GroupNorm, a
log-softmax at the end, and pointwise arithmetic in forward."""

import torch
import torch.nn.functional as F
from torch import nn


class ModernVGG(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
        layers, c = [], 3
        acts = [lambda: nn.LeakyReLU(0.1), nn.GELU, nn.SiLU]
        for i, v in enumerate(cfg):
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.GroupNorm(8, v), acts[i % 3]()]
                c = v
        self.features = nn.Sequential(*layers)
        self.fc1 = nn.Linear(512, 256)
        self.fc2 = nn.Linear(256, num_classes)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = F.leaky_relu(self.fc1(x), 0.2)
        x = torch.tanh(x) * self.scale
        return F.log_softmax(self.fc2(x), dim=1)


class FunctionalActs(nn.Module):
    """Convs with functional activations only: the fields must survive every pointwise op."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = nn.Conv2d(8, 16, 3, padding=1)

    def forward(self, x):
        x = F.gelu(self.c1(x))
        x = F.max_pool2d(F.silu(self.c2(x)), 2)
        x = torch.sigmoid(self.c3(x)) * 2.0 + 1.0
        return F.hardswish(x).clone()
