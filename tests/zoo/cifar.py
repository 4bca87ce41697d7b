"""VGGs as CIFAR repositories write them: a cfg list, BatchNorm, a no-op ``AvgPool2d(1, 1)`` after
the last pool, ``out.view(out.size(0), -1)`` and a single Linear head; and VGG-Face's 2622-way head."""

import torch.nn.functional as F
from torch import nn

CFG = {
    "VGG11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "VGG16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, vgg_name="VGG16", num_classes=10):
        super().__init__()
        self.features = self._make_layers(CFG[vgg_name])
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        out = self.features(x)
        out = out.view(out.size(0), -1)
        return self.classifier(out)

    def _make_layers(self, cfg):
        layers, in_channels = [], 3
        for x in cfg:
            if x == "M":
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                conv = nn.Conv2d(in_channels, x, kernel_size=3, padding=1)
                layers += [conv, nn.BatchNorm2d(x), nn.ReLU(inplace=True)]
                in_channels = x
        layers += [nn.AvgPool2d(kernel_size=1, stride=1)]
        return nn.Sequential(*layers)


class VGGFace(nn.Module):
    """VGG-Face (Parkhi et al. 2015): VGG16 with a 2622-identity fc8, written layer by layer."""

    def __init__(self, num_classes=2622):
        super().__init__()
        widths = [
            (3, 64),
            (64, 64),
            (64, 128),
            (128, 128),
            (128, 256),
            (256, 256),
            (256, 256),
            (256, 512),
            (512, 512),
            (512, 512),
            (512, 512),
            (512, 512),
            (512, 512),
        ]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in widths)
        self.fc6 = nn.Linear(512 * 7 * 7, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i in (1, 3, 6, 9, 12):
                x = F.max_pool2d(x, 2, 2)
        x = x.view(x.size(0), -1)
        x = F.dropout(F.relu(self.fc6(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        return self.fc8(x)
