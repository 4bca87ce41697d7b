"""`check`: compare a report with expected values, for CI pipelines.

Keys: a totals key (``params``, ``macs``, ``params_by_kind.conv``) or ``LAYER.KEY`` where LAYER is
a paper name or module path (``conv5_3.params``, ``features.28.params``). Values: an exact
integer (``138357544``, ``138_357_544``, ``138,357,544``), a decimal suffix compared at the
precision written (``138.36M`` holds when the actual value rounds to 138.36 million), a shape
(``1x512x14x14``), a number, or true/false.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from ..errors import VggInspectError, did_you_mean
from ..scales import COUNT_SCALE, rounds_to
from .documents import Outcome

# Digits, optionally grouped by thousands with commas (138,357,544) or with underscores (138_357_544).
_INT_RE = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+(?:_\d+)*)$")
FIELD_STATUSES = ("local", "irregular", "global", "unknown")
_SUFFIX_RE = re.compile(r"^([+-]?\d+(?:\.(\d+))?)\s*([KMGT])$", re.IGNORECASE)
_SHAPE_RE = re.compile(r"^\d+(?:\s*[x×]\s*\d+)+$")


def parse_expectation(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise VggInspectError(f"malformed --expect '{text}': expected KEY=VALUE, e.g. params=138357544")
    return key.strip(), value.strip()


def lookup(report: dict[str, Any], key: str) -> Any:
    """A totals value (dots reach into nested totals) or LAYER.FIELD."""
    node: Any = report["totals"]
    parts = key.split(".")
    if parts[0] in node:
        for p in parts:
            if not isinstance(node, dict) or p not in node:
                break
            node = node[p]
        else:
            return node
    layer_id, _, field = key.rpartition(".")
    for row in report["layers"]:
        if layer_id in (row["name"], row["module"]):
            if field in row:
                return row[field]
            raise VggInspectError(
                f"unknown field '{field}' for layer {layer_id}{did_you_mean(field, list(row))}; "
                f"fields: {', '.join(k for k in row if k not in ('name', 'module'))}"
            )
    names = list(report["totals"]) + [r["name"] for r in report["layers"]]
    hint = did_you_mean(layer_id or key, names) or "; use a totals key (params, macs) or LAYER.KEY (conv5_3.params)"
    raise VggInspectError(f"unknown --expect key '{key}'{hint}")


def matches(actual: Any, expected: str) -> bool:
    text = expected.strip()
    if isinstance(actual, bool) or text.lower() in ("true", "false"):
        if text.lower() not in ("true", "false"):
            raise VggInspectError(f"cannot compare '{text}' with a true/false value")
        return actual is (text.lower() == "true")
    if isinstance(actual, list):
        if not _SHAPE_RE.match(text):
            raise VggInspectError(f"malformed value '{text}': a shape is written like 1x512x14x14")
        return actual == [int(v) for v in re.split(r"\s*[x×]\s*", text)]
    if actual is None:
        return text.lower() in ("none", "null", "-")
    if isinstance(actual, str):
        return actual == text
    if _INT_RE.match(text):
        return bool(actual == int(text.replace("_", "").replace(",", "")))
    m = _SUFFIX_RE.match(text)
    if m:
        number, _, suffix = m.groups()
        return rounds_to(actual, COUNT_SCALE[suffix.upper()], Decimal(number))
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None and not math.isfinite(number):
        raise VggInspectError(f"cannot compare with '{text}': an expected value is a finite number")
    try:
        return float(actual) == float(text)
    except ValueError:
        raise VggInspectError(
            f"unparsable value '{text}': expected an integer (138357544), a number with K/M/G/T "
            "(138.36M), a shape (1x512x14x14) or true/false"
        ) from None


def show(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(map(str, value)) if all(isinstance(v, int) for v in value) else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def check_expectations(report: dict[str, Any], expectations: list[str]) -> list[Outcome]:
    outcomes = []
    for text in expectations:
        key, value = parse_expectation(text)
        actual = lookup(report, key)
        if key.endswith(".receptive_field") and value.lower() in FIELD_STATUSES:
            # "global" is what the table prints for a field that is everything reachable
            actual = lookup(report, key.rsplit(".", 1)[0] + ".field_status")
        outcomes.append(Outcome(key, value, actual, matches(actual, value)))
    return outcomes


def _flat(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(f"{prefix}.{k}" if prefix else k, v))
        return out
    return {prefix: value}


def check_golden(report: dict[str, Any], golden: dict[str, Any]) -> list[Outcome]:
    """Every model, input, totals and per-layer value of a saved report, compared exactly."""
    if golden.get("schema_version") != report["schema_version"]:
        raise VggInspectError(
            f"golden file has schema_version {golden.get('schema_version')!r}; this tool writes "
            f"{report['schema_version']}: regenerate it with --write-golden"
        )
    outcomes = []
    for section in ("model", "input", "totals"):
        want, have = _flat("", golden.get(section, {})), _flat("", report.get(section, {}))
        for k, v in want.items():
            got = have.get(k, "<missing>")
            outcomes.append(Outcome(f"{section}.{k}", v, got, got == v))
    have_layers = {r["name"]: r for r in report["layers"]}
    for row in golden.get("layers", []):
        got_row = have_layers.get(row["name"])
        if got_row is None:
            outcomes.append(Outcome(f"{row['name']}", "present", "missing", False))
            continue
        for k, v in row.items():
            got = got_row.get(k, "<missing>")
            outcomes.append(Outcome(f"{row['name']}.{k}", v, got, got == v))
    extra = [r["name"] for r in report["layers"] if r["name"] not in {g["name"] for g in golden.get("layers", [])}]
    for name in extra:
        outcomes.append(Outcome(name, "absent", "present", False))
    return outcomes


def load_report_file(path: str) -> dict[str, Any]:
    """A saved report (golden or baseline file), checked against the JSON Schema: what is wrong
    and where, never a traceback."""
    import json
    from importlib import resources

    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise VggInspectError(f"{path} is not UTF-8 text (byte {exc.start}): not a vgg-inspect report") from None
    except json.JSONDecodeError as exc:
        raise VggInspectError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise VggInspectError(f"{path} nests its JSON too deeply to be a vgg-inspect report") from None
    import jsonschema

    schema = json.loads(resources.files("vgg_inspect").joinpath("report/schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/report"})
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path).lstrip(".")
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise VggInspectError(
            f"{path} is not a vgg-inspect report (schema_version 1): at {where or 'the top level'}: "
            f"{first.message[:200]}{more}; write one with --write-golden or --update"
        )
    return dict(data)


def parse_tolerance(text: str | None) -> dict[str, Decimal]:
    """'1%' (every totals metric) or 'macs=2%,params=0' (those metrics; others exact) -> fraction
    per metric; the key '*' holds the default."""
    if not text:
        return {}
    out: dict[str, Decimal] = {}
    for part in text.split(","):
        key, sep, value = part.rpartition("=")
        key = key.strip() if sep else "*"
        value = value.strip()
        number = value[:-1] if value.endswith("%") else value
        try:
            fraction = Decimal(number) / (100 if value.endswith("%") else 1)
        except ArithmeticError:
            fraction = Decimal(-1)
        if not fraction.is_finite():  # nan, inf: no tolerance at all
            fraction = Decimal(-1)
        if not key or fraction < 0 or not number:
            raise VggInspectError(
                f"malformed --tolerance '{text}': expected a relative tolerance such as 1% or 0.01, or per metric "
                "such as macs=2%,params=0"
            )
        out[key] = fraction
    return out


# A tolerance on a metric covers what follows from it alone (unless that has its own): MACs give
# the FLOPs and the MACs by kind; parameters give their counts by kind and the bytes they take.
# Memory totals follow from the activations too: they take their own tolerance, or the default.
DERIVED = {
    "macs": ("flops", "train_flops", "macs_by_kind."),
    "params": ("trainable_params", "non_trainable_params", "params_by_kind.", "weight_bytes", "gradient_bytes",
               "optimizer_state_bytes"),
}  # fmt: skip


def tolerance_for(key: str, tolerance: dict[str, Decimal]) -> tuple[Decimal, str | None]:
    """The fraction ``key`` may move, and which tolerance gave it (None: exact)."""
    if key in tolerance:
        return tolerance[key], key
    for source, derived in DERIVED.items():
        if source in tolerance and any(key == d or (d.endswith(".") and key.startswith(d)) for d in derived):
            return tolerance[source], source
    if "*" in tolerance:
        return tolerance["*"], "*"
    return Decimal(0), None


def _tolerance_text(source: str, fraction: Decimal) -> str:
    percent = f"{(fraction * 100).normalize():f}%"
    return percent if source == "*" else f"{source}={percent}"


def _numbers(totals: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for k, v in totals.items():
        if isinstance(v, dict):
            flat.update(_numbers(v, f"{prefix}{k}."))
        else:
            flat[prefix + k] = v
    return flat


def compare_baseline(
    report: dict[str, Any], baseline: dict[str, Any], tolerance: dict[str, Decimal], strict_layers: bool
) -> list[Outcome]:
    """Every totals metric of the baseline against the report, within its tolerance (exact by
    default); with ``strict_layers``, every per-layer value exactly. Only what moved is failed."""
    have, want = _numbers(report["totals"]), _numbers(baseline["totals"])
    unknown = [k for k in tolerance if k != "*" and k not in want]
    if unknown:
        raise VggInspectError(
            f"unknown --tolerance metric '{unknown[0]}'{did_you_mean(unknown[0], list(want))}; "
            f"metrics: {', '.join(want)}"
        )
    outcomes = []
    for key, expected in want.items():
        actual = have.get(key)
        limit, source = tolerance_for(key, tolerance)
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
            moved = Decimal(actual) - Decimal(expected)
            ok = abs(moved) <= limit * abs(Decimal(expected))
            change = f"{moved / Decimal(expected):+.2%}" if expected and moved else None
            held = _tolerance_text(source, limit) if source is not None else None
            outcomes.append(Outcome(key, expected, actual, ok, change, held))
        else:
            outcomes.append(Outcome(key, expected, actual, actual == expected))
    if strict_layers:
        outcomes += [o for o in check_golden(report, {**baseline, "model": {}, "input": {}, "totals": {}})]
    return outcomes


def recorded_for(model: dict[str, Any]) -> str:
    """The model a saved report describes, as a command line names it (``--config 64,M,128,M``,
    ``vgg16``): its head's size aside, which a baseline's tolerances are there to follow."""
    if model.get("config") == "custom" and model.get("layers"):
        return f"--config {model['layers']}"
    return str(model.get("name", "?"))
