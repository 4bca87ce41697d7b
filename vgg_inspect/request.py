"""The request every model command and API call shares: which network, at which input, how
(pure Python). Its model reference is parsed once (``ref``); its checks are the same for every
path, so a bad value fails before any torch work."""

from __future__ import annotations

import functools
from typing import Any

from . import validate
from .errors import VggInspectError
from .network import ModelSpec, canonical_dtype, model_spec
from .network.reference import Builtin, ConfigList, FrameworkFile, ModelRef, UserCode, describe_file, parse_model
from .records import record, replace

Shape4 = tuple[int, int, int, int]
_parsed = functools.lru_cache(maxsize=64)(parse_model)


def checked(req: Any, param: str = "req") -> Request:
    """``req`` is a Request (a model name is not: ``Request("vgg16")`` is), before any work."""
    if not isinstance(req, Request):
        raise VggInspectError(
            f"{{param}} must be a vgg_inspect.api.Request such as Request('vgg16'), got {type(req).__name__} {req!r}",
            param=param,
        )
    return req


@record(frozen=True)
class YourModel:
    """Your model as the runtime builds it: the code to load, its keyword arguments, the input, the dtype."""

    code: UserCode
    kwargs: Any
    shape: Shape4
    dtype: str


@record(frozen=True)
class Request:
    """Which network, at which input, how: the arguments every model command shares."""

    model: str | None = None
    config: str | None = None
    batch_norm: bool = False
    num_classes: int = 1000
    in_channels: int = 3
    input_size: Any = 224  # S, "S", "HxW" or (H, W)
    batch: int = 1
    dtype: str = "float32"
    device: str | None = None
    init: bool = False
    head: str = "fc"
    weights: str | None = None  # a checkpoint to check against the architecture
    kwargs: Any = None  # for a user's model: NAME=VALUE,... text or a dict, given to its class or factory
    input_requires_grad: bool = False  # the input needs a gradient (a perceptual loss's generated image)

    def replace(self, **changes: Any) -> Request:
        return replace(self, **changes)

    def ref(self) -> ModelRef:
        """The kind of model the request names, parsed once for each (model, config)."""
        try:
            return _parsed(self.model, self.config)
        except TypeError:  # an unhashable value (the API's caller's mistake): parsed, and refused later
            return parse_model(self.model, self.config)

    @property
    def is_user_code(self) -> bool:
        return isinstance(self.ref(), UserCode)

    @property
    def is_framework_file(self) -> bool:
        return isinstance(self.ref(), FrameworkFile)

    def framework_file(self) -> FrameworkFile:
        ref = self.ref()
        if not isinstance(ref, FrameworkFile):
            raise VggInspectError(f"'{self.model}' is not a Keras or ONNX file", param="model")
        return ref

    def user_code(self) -> UserCode:
        ref = self.ref()
        if not isinstance(ref, UserCode):
            raise VggInspectError(f"'{self.model}' is not your own model (file.py:Name)", param="model")
        return ref

    def spec(self) -> ModelSpec:
        """The layer spec of a built-in variant or a config list."""
        ref = self.ref()
        if isinstance(ref, (UserCode, FrameworkFile)):
            what = "your own model" if isinstance(ref, UserCode) else f"a {ref.framework} file"
            raise VggInspectError(
                f"'{self.model}' is {what}, not a built-in variant or a config list: it has no layer spec",
                param="model",
            )
        if isinstance(ref, Builtin) and isinstance(ref.name, str) and ref.name.strip().endswith(".py"):
            raise VggInspectError(describe_file(ref.name.strip()), param="model")
        model = ref.name if isinstance(ref, Builtin) else None
        config = ref.layers if isinstance(ref, ConfigList) else self.config
        return model_spec(model, config=config, batch_norm=self.batch_norm, num_classes=self.num_classes,
                          in_channels=self.in_channels, head=self.head)  # fmt: skip

    def shape(self, spec: ModelSpec) -> Shape4:
        h, w = validate.input_size(self.input_size)
        return (validate.count(self.batch, "batch"), spec.in_channels, h, w)

    def init_flag(self) -> bool:
        if not isinstance(self.init, bool):
            raise VggInspectError(f"{{param}} must be True or False, got {self.init!r}", param="init")
        return self.init

    def checked_init(self) -> bool:
        """``init`` is a flag, and only for an instantiated model."""
        if self.init_flag() and self.device is None:
            raise VggInspectError("{param} applies to an instantiated model: give a device too", param="init")
        return self.init

    def user_shape(self) -> Shape4:
        """Your model's input: the options that describe a built-in are refused (--kwargs are yours)."""
        for name, value, default in (("config", self.config, None), ("batch_norm", self.batch_norm, False),
                                     ("num_classes", self.num_classes, 1000), ("head", self.head, "fc")):  # fmt: skip
            if value != default:
                raise VggInspectError("{param} describes a built-in VGG; give your model's options with --kwargs",
                                      param=name)  # fmt: skip
        self.checked_init()
        h, w = validate.input_size(self.input_size)
        return (validate.count(self.batch, "batch"), validate.count(self.in_channels, "in_channels"), h, w)

    def canonical_dtype(self) -> str:
        return canonical_dtype(self.dtype)

    def your_model(self) -> YourModel:
        """Your own model's request, resolved once at the API's edge: the runtime reads this record,
        never the request (nothing below the API parses or checks it again)."""
        return YourModel(self.user_code(), self.kwargs, self.user_shape(), self.canonical_dtype())
