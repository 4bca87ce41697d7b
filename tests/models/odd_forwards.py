"""Forwards written in less common ways: two inputs and data-dependent control flow fail in one
clear line (the trace runs on meta tensors); a dict output is analysed."""

from torch import nn


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x, mask):
        return self.conv(x) * mask


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        if y.mean() > 0:
            return y
        return -y


class ReturnsDict(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return {"out": self.conv(x)}
