"""FCN (Long et al. 2015) on VGG16, as the fcn.berkeleyvision and pytorch-fcn ports write it:
conv1_1 padded by 100, fc6 as a 7x7 conv, fc7 as a 1x1 conv, transposed-conv upsampling, crops by
slicing and (FCN-8s) skip adds of pool4 and pool3 scores."""

from torch import nn

CFG = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]]


def _features():
    blocks, c = [], 3
    for b, widths in enumerate(CFG):
        layers = []
        for i, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=100 if b == i == 0 else 1), nn.ReLU(inplace=True)]
            c = w
        layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
        blocks.append(nn.Sequential(*layers))
    return blocks


class FCN32s(nn.Module):
    def __init__(self, n_class=21):
        super().__init__()
        self.block1, self.block2, self.block3, self.block4, self.block5 = _features()
        self.fc6 = nn.Conv2d(512, 4096, 7)
        self.relu6 = nn.ReLU(inplace=True)
        self.drop6 = nn.Dropout2d()
        self.fc7 = nn.Conv2d(4096, 4096, 1)
        self.relu7 = nn.ReLU(inplace=True)
        self.drop7 = nn.Dropout2d()
        self.score_fr = nn.Conv2d(4096, n_class, 1)
        self.upscore = nn.ConvTranspose2d(n_class, n_class, 64, stride=32, bias=False)

    def head(self, x):
        return self.score_fr(self.drop7(self.relu7(self.fc7(self.drop6(self.relu6(self.fc6(x)))))))

    def forward(self, x):
        h = self.block5(self.block4(self.block3(self.block2(self.block1(x)))))
        h = self.upscore(self.head(h))
        return h[:, :, 19 : 19 + x.size(2), 19 : 19 + x.size(3)].contiguous()


class FCN8s(FCN32s):
    def __init__(self, n_class=21):
        super().__init__(n_class)
        self.score_pool3 = nn.Conv2d(256, n_class, 1)
        self.score_pool4 = nn.Conv2d(512, n_class, 1)
        self.upscore2 = nn.ConvTranspose2d(n_class, n_class, 4, stride=2, bias=False)
        self.upscore_pool4 = nn.ConvTranspose2d(n_class, n_class, 4, stride=2, bias=False)
        self.upscore8 = nn.ConvTranspose2d(n_class, n_class, 16, stride=8, bias=False)
        del self.upscore

    def forward(self, x):
        pool3 = self.block3(self.block2(self.block1(x)))
        pool4 = self.block4(pool3)
        upscore2 = self.upscore2(self.head(self.block5(pool4)))
        score_pool4 = self.score_pool4(pool4)
        score_pool4c = score_pool4[:, :, 5 : 5 + upscore2.size(2), 5 : 5 + upscore2.size(3)]
        upscore_pool4 = self.upscore_pool4(upscore2 + score_pool4c)
        score_pool3 = self.score_pool3(pool3)
        score_pool3c = score_pool3[:, :, 9 : 9 + upscore_pool4.size(2), 9 : 9 + upscore_pool4.size(3)]
        h = self.upscore8(upscore_pool4 + score_pool3c)
        return h[:, :, 31 : 31 + x.size(2), 31 : 31 + x.size(3)].contiguous()
