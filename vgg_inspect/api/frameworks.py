"""Models saved by other frameworks (Keras, ONNX): read by ``formats`` without the framework, and
reported from their description alone, with the closed-form formulas (no torch needed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import validate
from ..errors import VggInspectError
from ..formats import Description, description_traces, framework_totals, read, state_shapes
from ..network import ITEMSIZE
from ..ops import LayerKind
from ..ops.traced import LayerTrace
from ..report.assemble import build_report
from ..report.model import FILE_CONFIG, Identification, ModelInfo, Peer, Report
from ..request import Request

DEFAULT_SIZE = 224  # Request's own default: a file that fixes its input size is read at it instead


def _shape(req: Request, desc: Description) -> tuple[tuple[int, int, int, int], list[str]]:
    """The input: the file's own size unless --input asks for another (a Dense after a Flatten is
    sized for the file's), and --batch where the file leaves the batch free."""
    notes = []
    n, c, h, w = desc.input_shape
    asked = validate.input_size(req.input_size)
    if h and w and asked == (DEFAULT_SIZE, DEFAULT_SIZE) and (h, w) != asked:
        size = (h, w)
        notes.append(f"analysed at the file's own input size {h}x{w} (--input sets another)")
    else:
        size = asked
        if h and w and (h, w) != asked:
            notes.append(f"the file declares input {h}x{w}; analysed at {asked[0]}x{asked[1]} as --input asks")
    batch = validate.count(req.batch, "batch")
    if not desc.batch_free and batch != n:
        notes.append(f"the file fixes the batch at {n}; analysed at --batch {batch}")
    return (batch, c, *size), notes


def framework_analysis(req: Request, include: Iterable[str] | str, optimizer: str) -> tuple[Report, list[LayerTrace]]:
    ref = req.framework_file()
    if req.device is not None:
        raise VggInspectError(f"{{param}}: a {ref.framework} file is analysed from its description (closed form); "
                              "bench times the network rebuilt in torch", param="device")  # fmt: skip
    for name, value in (("kwargs", req.kwargs), ("weights", req.weights), ("init", req.init or None)):
        if value is not None:
            raise VggInspectError("{param} applies to your own PyTorch model, not to a file of another framework",
                                  param=name)  # fmt: skip
    desc = read(ref.path, ref.framework)
    said = [f"read from {ref.path} ({desc.framework}) without {ref.framework}: rows carry the file's own names"]
    return described(req, ref.path, desc, said, include, optimizer)


def described(req: Request, path: str, desc: Description, said: list[str], include: Iterable[str] | str,
              optimizer: str) -> tuple[Report, list[LayerTrace]]:  # fmt: skip
    """The report of a model read from another framework's description."""
    shape, notes = _shape(req, desc)
    dtype = req.canonical_dtype()
    traces = description_traces(path, desc, shape, ITEMSIZE[dtype])
    weight_layers = sum(t.op.kind in (LayerKind.CONV, LayerKind.FC) for t in traces)
    info = ModelInfo(desc.name, FILE_CONFIG, None, None, None, shape[1], weight_layers, layout=desc.layout)
    report = build_report(info, shape, traces, dtype=dtype, device=None, analysis="analytical", include=include,
                          optimizer=optimizer, input_requires_grad=req.input_requires_grad)  # fmt: skip
    said = list(said)
    if desc.layout != "NCHW":
        said.append(f"shapes print in {desc.layout}, the file's own layout (N, H, W, C, as Keras prints them); "
                    "the JSON keeps (N, C, H, W) and says model.layout")  # fmt: skip
    totals = framework_totals(desc, traces)
    report.warnings[:0] = [*said, *notes, *desc.notes, *([totals] if totals else [])]
    return report, traces


def identify_file(path: str, framework: str) -> Identification:
    """Which VGG a Keras or ONNX file holds: its rows keyed as torchvision's state dict would be."""
    from ..report.identify import identify_shapes

    desc = read(path, framework)
    shape, _ = _shape(Request(path), desc)
    traces = description_traces(path, desc, shape, 4)
    folded = any(n.startswith("BatchNorm folded") for n in desc.notes)
    shapes, params = state_shapes(traces, folded)
    notes = [f"read from {path} ({desc.framework})"] + [n for n in desc.notes if n.startswith("BatchNorm folded")]
    return identify_shapes(path, shapes, params, notes)


def keras_code_analysis(
    req: Request, found: Any, include: Iterable[str] | str, optimizer: str
) -> tuple[Report, list[LayerTrace]]:
    """A Keras model your Python file builds (its code ran): read through its own ``to_json()``."""
    from ..formats import keras_config

    desc = keras_config(found.label, found.config)
    said = [f"{found.label} is a Keras model ({desc.framework}): read through its to_json(), rows carry its names",
            *found.notes]  # fmt: skip
    return described(req.replace(kwargs=None), found.label, desc, said, include, optimizer)


ONNX_TOOL = "onnx-tool"
ONNX_TOOL_CONVENTION = (
    'onnx-tool\'s "MACs": multiply-accumulates of conv and Gemm weights, plus one add per output of a layer '
    "with a bias, one per ReLU element and k·k per pooled output (its own convention, summed per node)"
)


def file_peers(req: Request, report: Report, traces: list[LayerTrace], only: Iterable[str]) -> list[Peer]:
    """The peers of a file of another framework: onnx-tool's convention (ONNX), reproduced from the rows and
    reconciled with the tool's MACs part by part; the torch counters have no module to count."""
    parts: dict[str, int] = {}
    for t in traces:
        for k, v in t.op.onnx_tool_parts(t.input_shape, t.output_shape).items():
            parts[k] = parts.get(k, 0) + v
    extra = ", ".join(f"{k} {v:,}" for k, v in parts.items() if k != "macs")
    explained = (f"{ONNX_TOOL_CONVENTION}; = MACs {parts.get('macs', 0):,} + {extra or 'nothing else'}; "
                 f"vgg-inspect's MACs {report.totals.macs:,} are the first part")  # fmt: skip
    ref = req.framework_file()
    peers = []
    wanted = set(only)
    if ref.framework == "onnx" and (not wanted or ONNX_TOOL in wanted):
        peers.append(Peer(ONNX_TOOL, None, sum(parts.values()), ONNX_TOOL_CONVENTION, explained, "skipped",
                          "onnx-tool is not run (it loads every weight); its count is reproduced from the rows",
                          ONNX_TOOL in wanted))  # fmt: skip
    for tool in ("FlopCounterMode", "fvcore", "torchinfo"):
        short = {"FlopCounterMode": "flopcounter"}.get(tool, tool)
        if wanted and short not in wanted:
            continue
        why = f"{tool} counts a torch module, and {'an ONNX' if ref.framework == 'onnx' else 'a Keras'} file has none"
        peers.append(Peer(tool, None, report.totals.macs, "counts a torch module", "", "skipped", why,
                          short in wanted))  # fmt: skip
    return peers
