import os

import pytest
from hypothesis import settings

from vgg_inspect.network import VARIANTS

# No example database in the checkout; in CI, the same examples every run (no flaky landing).
settings.register_profile("default", database=None)
settings.register_profile("ci", database=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

ALL_VARIANTS = list(VARIANTS)
PLAIN_VARIANTS = [n for n, v in VARIANTS.items() if not v.batch_norm]


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """No test writes the user's cache (~/.cache/vgg-inspect): the CPU peaks any test measures go to
    a folder of the session's, inherited by the commands tests run in a subprocess."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def torch():
    return pytest.importorskip("torch")


def skip_if_missing(result):
    """Skip, saying which, when a CLI run stopped at an optional dependency that is not installed
    (``pip install -e ".[test]"`` alone: torch, torchinfo, fvcore and matplotlib are extras)."""
    text = getattr(result, "output", "") or ""
    if result.exit_code == 2 and "which is not installed" in text:
        pytest.skip(text.strip().removeprefix("Error: ").split(" (or pip install")[0])
    return result
