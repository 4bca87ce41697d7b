"""Which network (pure Python): the config grammar, the paper's Table 1 variants and aliases, and
their layout as torchvision lays it out (ModelSpec -> layer list with paper names)."""

from .config import VARIANTS, Conv, Lrn, Pool, Token, Variant, format_config, parse_config, resolve_model
from .dtypes import ITEMSIZE, canonical_dtype
from .layout import LayerDef, ModelSpec, layer_defs, layer_names, minimum_input, model_spec, paper_names

__all__ = [
    "ITEMSIZE",
    "VARIANTS",
    "Conv",
    "LayerDef",
    "Lrn",
    "ModelSpec",
    "Pool",
    "Token",
    "Variant",
    "canonical_dtype",
    "format_config",
    "layer_defs",
    "layer_names",
    "minimum_input",
    "model_spec",
    "paper_names",
    "parse_config",
    "resolve_model",
]
