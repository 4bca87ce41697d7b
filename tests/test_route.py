"""The route of ``summary my.py:VGG`` through the code (issue 27): the request is resolved once at
the API's edge and each module on the way down is entered from one place, in one line:
cli -> api (analysis.py) -> runtime.model_sources -> (runtime.user, runtime.prepare, runtime.module_report)
-> (runtime.tracer, report.assemble). Recorded with ``sys.setprofile`` on a real run."""

from __future__ import annotations

import collections
import pathlib
import sys

import pytest

pytest.importorskip("torch")

ZOO = pathlib.Path(__file__).parent / "zoo"


def _entries(args):
    """(calling module, called module) -> calls, for calls from one vgg_inspect module into another."""
    from vgg_inspect.cli import cli

    edges: collections.Counter[tuple[str, str]] = collections.Counter()

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        if callee.startswith("vgg_inspect") and caller.startswith("vgg_inspect") and caller != callee:
            edges[(caller, callee)] += 1

    sys.setprofile(profile)
    try:
        cli(args, standalone_mode=False)
    except SystemExit:
        pass
    finally:
        sys.setprofile(None)
    return edges


def _callers(edges, module):
    return {a for (a, b) in edges if b == module}


@pytest.fixture(scope="module")
def route(tmp_path_factory):
    import vgg_inspect.api  # imported before the profile: its import is not the route
    import vgg_inspect.runtime.model_sources  # noqa: F401

    out = tmp_path_factory.mktemp("route") / "summary.json"
    return _entries(["summary", f"{ZOO / 'd2l.py'}:VGG", "--format", "json", "-o", str(out)])


def test_the_request_is_resolved_once_at_the_apis_edge(route):
    """Nothing below the API reads the request: the runtime gets a resolved record (YourModel)."""
    assert _callers(route, "vgg_inspect.request") <= {
        "vgg_inspect.api",
        "vgg_inspect.api.analysis",
        "vgg_inspect.cli.options",
    }
    # the model reference is parsed once (by the request, never again by the runtime)
    assert route[("vgg_inspect.request", "vgg_inspect.network.reference")] == 1


@pytest.mark.parametrize(
    ("module", "parent"),
    [
        ("vgg_inspect.runtime.model_sources", "vgg_inspect.api.analysis"),
        ("vgg_inspect.runtime.user", "vgg_inspect.runtime.model_sources"),
        ("vgg_inspect.runtime.prepare", "vgg_inspect.runtime.model_sources"),
        ("vgg_inspect.runtime.module_report", "vgg_inspect.runtime.model_sources"),
        ("vgg_inspect.runtime.tracer", "vgg_inspect.runtime.module_report"),
        ("vgg_inspect.report.assemble", "vgg_inspect.runtime.module_report"),
    ],
)
def test_each_module_on_the_way_down_is_entered_from_one_place(route, module, parent):
    assert _callers(route, module) == {parent}


def test_the_orchestrator_is_called_once(route):
    assert route[("vgg_inspect.api.analysis", "vgg_inspect.runtime.model_sources")] == 1
    assert route[("vgg_inspect.runtime.model_sources", "vgg_inspect.runtime.module_report")] == 1
