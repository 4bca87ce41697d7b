"""`diff`: two models side by side, layer by layer."""

from __future__ import annotations

import sys

import click

from ... import api
from ...errors import VggInspectError
from ...network.reference import CONFIG_PREFIX, looks_like_user_code
from ...request import Request
from ..options import Command, Output, emit, examples, model_options, presenters

# Options that describe a built-in network, with their defaults: with your own model on one side and
# a built-in on the other, they apply to the built-in only (vgg16 --num-classes 10 against a CIFAR
# model), as --kwargs apply to your model only. On no side they fit, they are refused as usual.
BUILT_IN_ONLY = {"batch_norm": False, "num_classes": 1000, "head": "fc"}


def _side(text: str, req: Request, other: str) -> Request:
    """A built-in name (the model options apply to it), config:LAYERS for a custom list, or your own
    model (file.py:Name or package.module:Name; --kwargs apply to it)."""
    mine, theirs = looks_like_user_code(text), looks_like_user_code(other)
    if mine and not theirs:
        req = req.replace(**BUILT_IN_ONLY)
    if theirs and not mine:
        req = req.replace(kwargs=None)
    if text.startswith(CONFIG_PREFIX):
        return req.replace(model=None, config=text[len(CONFIG_PREFIX) :])
    return req.replace(model=text)


@click.command(
    "diff",
    cls=Command,
    epilog=examples(
        "vgg-inspect diff vgg16 vgg16_c",
        "vgg-inspect diff vgg16 config:64,64,M,128,128,M,256,256,256,M,512,512,512,M,512,512,512,M",
        "vgg-inspect diff my_vgg.py:VGG16 vgg16",
        "vgg-inspect diff my_vgg.py:CifarVGG vgg11 --num-classes 10 --input 32",
    ),
)
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@model_options(argument=False)
def diff(out: Output, all_layers: bool, a: str, b: str, req: Request) -> None:
    """Align the weight and pooling layers of A and B in execution order and compare their type,
    kernel, stride, padding, channels, output shape, parameters and MACs. A and B are built-in
    names, config:LAYERS lists, or your own models (file.py:Name, package.module:Name: their code
    runs); the model options apply to both, except that --num-classes, --batch-norm and --head go to
    the built-in side and --kwargs to your model's when the sides are one of each. Exit 0 when every
    aligned layer matches, 1 when any differs, 2 on usage errors."""
    if req.config:
        raise VggInspectError("give custom layer lists as config:LAYERS in place of A or B, not with --config")
    if req.weights is not None:  # it was checked against both sides and its result dropped: refused instead
        raise VggInspectError(
            "--weights checks a checkpoint against one model, which diff does not report; use "
            f"'vgg-inspect check {a} --weights {req.weights}' (or params, summary)"
        )
    req = req.replace(config=None)
    result = api.diff(_side(a, req, b), _side(b, req, a))
    emit(out, result, lambda: presenters.diff_view(result, all_layers))
    if not result.diff.same:
        sys.exit(1)
