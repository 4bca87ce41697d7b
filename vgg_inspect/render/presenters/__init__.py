"""Views for each command (``layers``: a model report's tables; ``documents``: every other document)."""

from .documents import (
    block_view,
    check_view,
    diff_view,
    explain_views,
    identify_view,
    list_view,
    paper_view,
    stack_view,
)
from .layers import (
    effective_view,
    flops_views,
    groups_view,
    memory_views,
    params_views,
    peers_view,
    receptive_views,
    summary_views,
    sweep_view,
    visible,
)
from .speed import bench_views, roofline_views, storage_views

__all__ = [
    "bench_views",
    "block_view",
    "check_view",
    "diff_view",
    "effective_view",
    "explain_views",
    "flops_views",
    "groups_view",
    "identify_view",
    "list_view",
    "memory_views",
    "paper_view",
    "params_views",
    "peers_view",
    "receptive_views",
    "roofline_views",
    "stack_view",
    "storage_views",
    "summary_views",
    "sweep_view",
    "visible",
]
