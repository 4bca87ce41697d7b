"""The d2l book's VGG: lazy layers whose input sizes are found by the first forward."""

from torch import nn


def vgg_block(num_convs, out_channels):
    layers = []
    for _ in range(num_convs):
        layers.append(nn.LazyConv2d(out_channels, kernel_size=3, padding=1))
        layers.append(nn.ReLU())
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, arch=((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)), num_classes=10):
        super().__init__()
        conv_blks = [vgg_block(n, c) for n, c in arch]
        self.net = nn.Sequential(
            *conv_blks,
            nn.Flatten(),
            nn.LazyLinear(4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.LazyLinear(4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.LazyLinear(num_classes),
        )

    def forward(self, x):
        return self.net(x)
