"""Models whose state dicts are not a VGG's: the storage and checkpoint figures count what is there."""

import torch
from torch import nn


class LstmHead(nn.Module):
    """Parameters with other names than weight and bias (weight_ih_l0, bias_hh_l1...)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.lstm = nn.LSTM(8, 16, num_layers=2)

    def forward(self, x):
        f = self.conv(x).mean((2, 3))
        return self.lstm(f.unsqueeze(0))[0]


class NoParameters(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.pool(x))


class Holder(nn.Module):
    """Tensors outside the executed layers: normalisation buffers on the model, an auxiliary head
    the forward never calls, and a weight tied to another (one storage, two keys)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, 3, 1, 1))
        self.register_buffer("std", torch.ones(1, 3, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 4)
        self.tied = nn.Linear(4, 4)
        self.tied.weight = self.head.weight
        self.aux = nn.Sequential(nn.Linear(4, 100), nn.BatchNorm1d(100), nn.Linear(100, 2))

    def forward(self, x):
        y = self.conv((x - self.mean) / self.std).mean((2, 3))
        return self.tied(self.head(y))
