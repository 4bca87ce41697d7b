import pytest

from vgg_inspect.configs import VARIANTS

ALL_VARIANTS = list(VARIANTS)
PLAIN_VARIANTS = [n for n, v in VARIANTS.items() if not v.batch_norm]


@pytest.fixture(scope="session")
def torch():
    return pytest.importorskip("torch")
