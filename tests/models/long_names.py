"""A student's VGG with long module names, functional pools and skip adds: the names pictures must fit."""

import torch
import torch.nn.functional as F
from torch import nn


class StudentVGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.first_convolution_of_block_one = nn.Conv2d(3, 64, 3, padding=1)
        self.second_convolution_of_block_one = nn.Conv2d(64, 64, 3, padding=1)
        self.first_convolution_of_block_two = nn.Conv2d(64, 128, 3, padding=1)
        self.second_convolution_of_block_two = nn.Conv2d(128, 128, 3, padding=1)
        self.classifier_layer_with_a_long_name = nn.Linear(128 * 8 * 8, 10)

    def forward(self, x):
        x = F.relu(self.first_convolution_of_block_one(x))
        x = x + F.relu(self.second_convolution_of_block_one(x))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.first_convolution_of_block_two(x))
        x = x + F.relu(self.second_convolution_of_block_two(x))
        x = F.max_pool2d(x, 2)
        return self.classifier_layer_with_a_long_name(torch.flatten(x, 1))
