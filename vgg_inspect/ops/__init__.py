"""Operators and their closed-form formulas (pure Python). A new layer type is one record class in
``layers.py``; its binding in ``runtime/bindings.py`` says which torch modules and aten ops it covers."""

from .base import (
    NEUTRAL_KINDS,
    Axis,
    AxisOp,
    Convention,
    ConvKernel,
    Geometry,
    LayerKind,
    Op,
    Pair,
    Saved,
    Shape,
    Window,
    Windows,
    numel,
)
from .elementwise import Constant, Pointwise, Reduction, Softmax
from .layers import BatchNorm2d, Conv2d, Dropout, Flatten, Linear, LocalResponseNorm, ReLU, Unknown
from .norms import Normalization
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, adaptive_axis, adaptive_bounds
from .products import MatMul
from .resampling import AdaptiveMaxPool2d, ConvTranspose2d, Crop, Interpolate, Pad

__all__ = [
    "NEUTRAL_KINDS",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool2d",
    "Axis",
    "AxisOp",
    "BatchNorm2d",
    "Constant",
    "Conv2d",
    "ConvKernel",
    "ConvTranspose2d",
    "Convention",
    "Crop",
    "Dropout",
    "Flatten",
    "Geometry",
    "Interpolate",
    "LayerKind",
    "Linear",
    "LocalResponseNorm",
    "MatMul",
    "MaxPool2d",
    "Normalization",
    "Op",
    "Pad",
    "Pair",
    "Pointwise",
    "ReLU",
    "Reduction",
    "Saved",
    "Shape",
    "Softmax",
    "Unknown",
    "Window",
    "Windows",
    "adaptive_axis",
    "adaptive_bounds",
    "numel",
]
