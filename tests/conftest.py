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
