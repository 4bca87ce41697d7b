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
