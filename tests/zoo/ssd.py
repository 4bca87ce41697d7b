"""SSD300's VGG16 backbone (Liu et al. 2016, as the ssd.pytorch and torchvision ports write it):
ceil_mode pool3, a 3x3/s1/p1 pool5, a dilated conv6 and a 1x1 conv7 in place of fc6/fc7, L2Norm on
conv4_3 with a learned scale, extra layers, and the source maps returned as a list."""

import torch
import torch.nn.functional as F
from torch import nn

BASE = [64, 64, "M", 128, 128, "M", 256, 256, 256, "C", 512, 512, 512, "M", 512, 512, 512]


class L2Norm(nn.Module):
    def __init__(self, channels=512, scale=20.0):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), scale))
        self.eps = 1e-10

    def forward(self, x):
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        return self.weight[None, :, None, None] * torch.div(x, norm)


def vgg_base():
    layers, c = [], 3
    for v in BASE:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        elif v == "C":
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    pool5 = nn.MaxPool2d(3, 1, 1)
    conv6 = nn.Conv2d(512, 1024, 3, padding=6, dilation=6)
    conv7 = nn.Conv2d(1024, 1024, 1)
    return layers + [pool5, conv6, nn.ReLU(inplace=True), conv7, nn.ReLU(inplace=True)]


class SSDBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.vgg = nn.ModuleList(vgg_base())
        self.l2norm = L2Norm(512, 20.0)
        self.extras = nn.ModuleList(
            [
                nn.Conv2d(1024, 256, 1),
                nn.Conv2d(256, 512, 3, stride=2, padding=1),
                nn.Conv2d(512, 128, 1),
                nn.Conv2d(128, 256, 3, stride=2, padding=1),
            ]
        )
        # Prior boxes kept as a plain tensor attribute, not a buffer (as ssd.pytorch does).
        self.priors = torch.zeros(8732, 4)

    def forward(self, x):
        sources = []
        for k in range(23):  # up to conv4_3's ReLU
            x = self.vgg[k](x)
        sources.append(self.l2norm(x))
        for k in range(23, len(self.vgg)):
            x = self.vgg[k](x)
        sources.append(x)
        for k, layer in enumerate(self.extras):
            x = F.relu(layer(x), inplace=True)
            if k % 2 == 1:
                sources.append(x)
        return sources, self.priors.to(x.device)
