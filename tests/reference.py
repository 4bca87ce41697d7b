"""Published and independently derived values, copied from ../shared/REFERENCE.md.

Labelled reference data for the tests only: the tool never reads this file.
"""

# Section 2: exact parameters with biases, 1000 classes (A, B, D, E equal torchvision's counts).
PARAMS = {
    "vgg11": 132_863_336,
    "vgg11_bn": 132_868_840,
    "vgg11_lrn": 132_863_336,
    "vgg11_lrn_bn": 132_868_840,  # LRN has no parameters
    "vgg13": 133_047_848,
    "vgg13_bn": 133_053_736,
    "vgg16_c": 133_638_952,
    "vgg16_c_bn": 133_647_400,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240,
    "vgg19_bn": 143_678_248,
}
# Paper Table 2, millions.
PAPER_MILLIONS = {"A": 133, "A-LRN": 133, "B": 133, "C": 134, "D": 138, "E": 144}
WEIGHT_LAYERS = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}

VGG16_LAYER_PARAMS = (
    [1792, 36928, 73856, 147584, 295168, 590080, 590080, 1180160] + [2359808] * 5 + [102_764_544, 16_781_312, 4_097_000]
)
VGG16_CONV_PARAMS = 14_714_688
VGG16_FC_PARAMS = 123_642_856
VGG16_FP32_WEIGHT_BYTES = 553_430_176

# Section 3: MACs of conv + linear, no bias, batch 1.
MACS_224 = {"A": 7_609_090_048, "B": 11_308_466_176, "C": 11_770_888_192, "D": 15_470_264_320, "E": 19_632_062_464}
MACS_32 = {"A": 276_398_080, "B": 351_895_552, "C": 361_332_736, "D": 436_830_208, "E": 521_764_864}
VGG16_CONV_MACS = 15_346_630_656
VGG16_FVCORE = 15_470_289_408
VGG16_FLOP_COUNTER = 30_940_528_640
VGG16_TORCHINFO_MULT_ADDS = 15_483_821_032
VGG16_TRAIN_FLOPS_G = 92.65  # FlopCounterMode, forward + backward, rounded in REFERENCE.md

# Section 4: activation values of VGG16 at 224, batch 1.
VGG16_CONV_POOL_OUTPUT_VALUES = 15_077_888
VGG16_ACTIVATION_VALUES = 15_237_608  # + input 150,528 + FC outputs 9,192

# Section 5: receptive field (RF, jump) of VGG16 layers, and pool5 per config.
VGG16_RF = {
    "conv1_1": (3, 1),
    "conv1_2": (5, 1),
    "pool1": (6, 2),
    "conv2_1": (10, 2),
    "conv2_2": (14, 2),
    "pool2": (16, 4),
    "conv3_1": (24, 4),
    "conv3_2": (32, 4),
    "conv3_3": (40, 4),
    "pool3": (44, 8),
    "conv4_1": (60, 8),
    "conv4_2": (76, 8),
    "conv4_3": (92, 8),
    "pool4": (100, 16),
    "conv5_1": (132, 16),
    "conv5_2": (164, 16),
    "conv5_3": (196, 16),
    "pool5": (212, 32),
}
POOL5_RF = {"A": 150, "B": 156, "C": 156, "D": 212, "E": 268}
