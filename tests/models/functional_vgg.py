"""A VGG16 as people write it from the paper: nested Sequentials of convs, pooling and ReLU done
with torch.nn.functional in forward, BatchNorm1d in the classifier."""

import torch
import torch.nn.functional as F
from torch import nn

CFG = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


class VGGNet(nn.Module):
    def __init__(self, num_classes=1000, in_channels=3):
        super().__init__()
        blocks, c = [], in_channels
        for widths in CFG:
            layers = []
            for w in widths:
                layers.append(nn.Conv2d(c, w, 3, padding=1))
                c = w
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        self.fc1 = nn.Linear(512 * 7 * 7, 4096)
        self.bn1 = nn.BatchNorm1d(4096)
        self.fc2 = nn.Linear(4096, 4096)
        self.fc3 = nn.Linear(4096, num_classes)

    def forward(self, x):
        for block in self.blocks:
            for conv in block:
                x = F.relu(conv(x))
            x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.dropout(F.relu(self.bn1(self.fc1(x))), 0.5, self.training)
        x = F.dropout(F.relu(self.fc2(x)), 0.5, self.training)
        return self.fc3(x)


class NeedsArgs(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)

    def forward(self, x):
        return self.conv(x)


class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        raise RuntimeError("the user's own mistake")


class Branches(nn.Module):
    """Two paths added: a receptive field that is not one chain."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(3, 8, 5, padding=2)

    def forward(self, x):
        return self.a(x) + self.b(x)


def make_small(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 16 * 16, num_classes)
    )


class TorchvisionCopy(nn.Module):
    """torchvision's VGG16, retyped by hand: features, avgpool, classifier."""

    def __init__(self, num_classes=1000):
        super().__init__()
        layers, c = [], 3
        for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 49, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class VGGNetAdaptive(VGGNet):
    """The same, with a functional adaptive average pool: it runs at any input of 32 pixels or more."""

    def forward(self, x):
        for block in self.blocks:
            for conv in block:
                x = F.relu(conv(x))
            x = F.max_pool2d(x, 2)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 7), 1)
        x = F.dropout(F.relu(self.bn1(self.fc1(x))), 0.5, self.training)
        x = F.dropout(F.relu(self.fc2(x)), 0.5, self.training)
        return self.fc3(x)


class IndexedPool(nn.Module):
    """Pooling that returns its indices (for a later unpool): the module returns a tuple."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x, _ = self.pool(torch.relu(self.conv(x)))
        return self.fc(torch.flatten(x, 1))


class Tied(nn.Module):
    """One weight used by two layers: its parameters count once, as model.parameters() yields them."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.up = nn.Linear(4 * 8 * 8, 64)
        self.down = nn.Linear(64, 4 * 8 * 8)
        self.down.weight = nn.Parameter(self.up.weight.detach().t().contiguous())
        self.back = nn.Linear(4 * 8 * 8, 64)
        self.back.weight = self.up.weight

    def forward(self, x):
        return self.back(self.down(self.up(torch.flatten(self.conv(x), 1))))


class AvgPooled(nn.Module):
    """Average pooling in both forms: a module, and F.avg_pool2d with padding and ceil_mode."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool1 = nn.AvgPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        x = self.pool1(F.relu(self.conv1(x)))
        return F.avg_pool2d(F.relu(self.conv2(x)), 3, stride=2, padding=1, ceil_mode=True)


class LstmHead(nn.Module):
    """Conv features read as a sequence by an LSTM: a module with no formulas and tuple outputs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.lstm = nn.LSTM(8 * 8, 16, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.conv(x)).flatten(2)  # (N, 8 channels as steps, 64)
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


class FunctionalLayers(nn.Module):
    """Weights held as bare parameters and applied with F.conv2d and F.linear in forward: hook-based
    tools (torchinfo) see no layer there; an operator-level trace does."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.b1 = nn.Parameter(torch.zeros(8))
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.w3 = nn.Parameter(torch.randn(10, 16 * 4 * 4))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(F.conv2d(x, self.w1, self.b1, padding=1))), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.linear(torch.flatten(x, 1), self.w3)


class ForwardRaises(nn.Module):
    """A forward that fails in the user's own code, with an error torch never raises."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.heads[x.shape[1]](self.conv(x))  # the forward's own mistake: no such attribute


class Shuffled(nn.Module):
    """A layer the tool has no formulas for (PixelShuffle) between two convs."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 16, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.b = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return self.b(self.shuffle(self.a(x)))
