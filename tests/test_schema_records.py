"""The JSON schema and the records it describes, field by field (issue 27): a field added to a
record and not to schema.json (or the reverse) fails here, before any golden file notices."""

import json
from importlib import resources

import pytest

from vgg_inspect.report import documents as d
from vgg_inspect.report import model as m
from vgg_inspect.report import sizing as s

SCHEMA = json.loads(resources.files("vgg_inspect.report").joinpath("schema.json").read_text())
DOCUMENT = {"schema_version", "tool"}  # what every top-level document adds to its record's fields


def fields(cls):
    """A record's fields, in order (vgg_inspect.records)."""
    return cls.__record_fields__


def at(path):
    """The schema object at ``path`` (a /-separated path; $ref followed, array items entered)."""
    node = SCHEMA
    for part in path.strip("/").split("/"):
        node = node[part]
        while isinstance(node, dict) and "$ref" in node:
            node = at(node["$ref"].removeprefix("#"))
    return node


def properties(path):
    node = at(path)
    if node.get("type") == "array" or "items" in node:
        node = node["items"]
        while "$ref" in node:
            node = at(node["$ref"].removeprefix("#"))
    if "anyOf" in node or "oneOf" in node:
        node = next(n for n in node.get("anyOf", node.get("oneOf")) if "properties" in n)
    return set(node["properties"])


RECORDS = [
    (m.ModelInfo, "$defs/model", set()),
    (m.InputInfo, "$defs/input", set()),
    (m.LayerRow, "$defs/layer", set()),
    (m.MacsByKind, "$defs/macs_by_kind", set()),
    (m.Totals, "$defs/totals", set()),
    (m.ParamsByKind, "$defs/totals/properties/params_by_kind", set()),
    (m.Report, "$defs/report", DOCUMENT),
    (m.Options, "$defs/report/properties/options", set()),
    (m.Coverage, "$defs/report/properties/coverage", set()),
    (m.Peer, "$defs/report/properties/peers", set()),
    (m.Budget, "$defs/report/properties/budget", set()),
    (m.SweepPoint, "$defs/report/properties/sweep", set()),
    (m.Measured, "$defs/report/properties/measured", set()),
    (m.EffectiveField, "$defs/report/properties/effective_receptive_field", set()),
    (m.WeightsCheck, "$defs/report/properties/weights", set()),
    (m.ShapeMismatch, "$defs/report/properties/weights/properties/mismatches", set()),
    (m.Held, "$defs/report/properties/held", set()),
    (m.Group, "$defs/report/properties/groups", set()),
    (m.Identification, "$defs/identification", DOCUMENT),
    (s.Traffic, "$defs/traffic", set()),
    (s.TrafficRow, "$defs/traffic/properties/layers", set()),
    (s.Roofline, "$defs/roofline", set()),
    (s.DeviceInfo, "$defs/roofline/properties/device", set()),
    (s.RooflinePoint, "$defs/roofline/properties/points", set()),
    (s.RooflineLayer, "$defs/roofline/properties/points/items/properties/layers", set()),
    (s.Storage, "$defs/storage", set()),
    (s.StorageRow, "$defs/storage/properties/rows", set()),
    (s.Bench, "$defs/bench", set()),
    (s.BenchRun, "$defs/bench/properties/runs", set()),
    (s.BenchLayer, "$defs/bench/properties/runs/items/properties/layers", set()),
    (d.VariantList, "$defs/variants", DOCUMENT),
    (d.VariantRow, "$defs/variants/properties/variants", set()),
    (d.CheckResult, "$defs/check", DOCUMENT),
    (d.Outcome, "$defs/check/properties/outcomes", set()),
    (d.StackComparison, "$defs/stacks", DOCUMENT),
    (d.BlockComparison, "$defs/blocks", DOCUMENT),
    (d.PaperTable, "$defs/paper", DOCUMENT),
    (d.PaperRow, "$defs/paper/properties/rows", set()),
    (d.Diff, "$defs/diff", DOCUMENT),
    (d.DiffSection, "$defs/diff/properties/diff", set()),
    (d.DiffRow, "$defs/diff/properties/diff/properties/rows", set()),
]


@pytest.mark.parametrize("record, path, extra", RECORDS, ids=[r[0].__name__ for r in RECORDS])
def test_every_record_field_is_in_the_schema_and_no_more(record, path, extra):
    assert set(fields(record)) | extra == properties(path)
