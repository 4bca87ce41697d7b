"""timm's VGG: torchvision's features, then a pre-logits ConvMlp (fc6 as a 7x7 conv, fc7 as a 1x1
conv) and a classifier head of global pooling and one Linear (``pre_logits.fc1``, ``head.fc``)."""

import torch
from torch import nn

CFG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


class ConvMlp(nn.Module):
    def __init__(self, in_features=512, out_features=4096, kernel_size=7):
        super().__init__()
        self.fc1 = nn.Conv2d(in_features, out_features, kernel_size, bias=True)
        self.act1 = nn.ReLU(True)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Conv2d(out_features, out_features, 1, bias=True)
        self.act2 = nn.ReLU(True)

    def forward(self, x):
        return self.act2(self.fc2(self.drop(self.act1(self.fc1(x)))))


class ClassifierHead(nn.Module):
    def __init__(self, in_features=4096, num_classes=1000):
        super().__init__()
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(self.flatten(self.global_pool(x)))


class TimmVGG16(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        layers, c = [], 3
        for v in CFG16:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(c, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.pre_logits = ConvMlp(512, 4096, 7)
        self.head = ClassifierHead(4096, num_classes)

    def forward(self, x):
        return self.head(self.pre_logits(self.features(x)))


def state_dict_file(path):
    torch.save(TimmVGG16().state_dict(), path)
