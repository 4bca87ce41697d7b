"""Shell completion: model names, dtypes and device specs complete from the tool's own tables, and
file names from the shell (a model file, a checkpoint, a Keras or ONNX file). Bash's completion is
installed with ``-o default``, so a word nothing here completes falls back to the shell's own file
names (``summary my<TAB>``)."""

from __future__ import annotations

from typing import Any

from click.shell_completion import BashComplete, CompletionItem, add_completion_class

DTYPES = ("float32", "float16", "bfloat16")


def models(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """Variant names and paper letters that start with what was typed, and the files that do."""
    from ..network import VARIANTS

    names = [n for n in (*VARIANTS, "A", "A-LRN", "B", "C", "D", "E") if n.startswith(incomplete)]
    return [CompletionItem(n) for n in names] + [CompletionItem(incomplete, type="file")]


def dtypes(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    last = incomplete.rpartition(",")  # a comma list: complete its last entry
    return [CompletionItem(last[0] + last[1] + d) for d in DTYPES if d.startswith(last[2])]


def device_specs(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    from ..metrics.devices import DEVICES

    return [CompletionItem(d) for d in (*DEVICES, "cpu") if d.startswith(incomplete.lower())]


class BashWithFiles(BashComplete):
    """click's bash completion, installed with ``-o default``: where it offers nothing, bash
    completes file names as it would without it."""

    source_template = BashComplete.source_template.replace("complete -o nosort -F", "complete -o nosort -o default -F")


add_completion_class(BashWithFiles, "bash")
