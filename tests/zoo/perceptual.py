"""A perceptual-loss VGG19 (Johnson et al. 2016, as style-transfer code writes it): torchvision's
features sliced at relu1_2, relu2_2, relu3_4 and relu4_4, every parameter frozen, the maps
returned as a list."""

from torch import nn

CFG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


def vgg19_features():
    layers, c = [], 3
    for v in CFG19:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=False)]
            c = v
    return nn.Sequential(*layers)


class PerceptualVGG19(nn.Module):
    def __init__(self, frozen=True):
        super().__init__()
        features = vgg19_features()
        self.slice1 = features[:4]
        self.slice2 = features[4:9]
        self.slice3 = features[9:18]
        self.slice4 = features[18:27]
        if frozen:
            for p in self.parameters():
                p.requires_grad = False

    def forward(self, x):
        h1 = self.slice1(x)
        h2 = self.slice2(h1)
        h3 = self.slice3(h2)
        h4 = self.slice4(h3)
        return [h1, h2, h3, h4]
