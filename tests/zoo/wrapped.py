"""A small VGG behind the wrappers people hand to tools: torch.compile, DataParallel, scripting."""

import torch
from torch import nn


def small_vgg():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 10),
    )


def compiled():
    return torch.compile(small_vgg())


def data_parallel():
    return nn.DataParallel(small_vgg())


def scripted():
    return torch.jit.script(small_vgg())


def traced():
    return torch.jit.trace(small_vgg().to_empty(device="cpu"), torch.zeros(1, 3, 32, 32))
