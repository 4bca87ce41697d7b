"""The top-level command group: commands loaded when they run, errors as one line."""

from __future__ import annotations

from typing import Any

import click

from ..errors import VggInspectError
from .options import fail, message


class Group(click.Group):
    """Loads a command's module only when that command runs (or help lists it), and turns the
    tool's own errors into one line on stderr and their exit code."""

    def __init__(
        self, *args: Any, lazy: dict[str, str] | None = None, lines: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}  # command name -> "module:function" under vgg_inspect.cli.commands
        self.lines = lines or {}  # command name -> its line in the top-level help

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole short line (no module is imported to list them)."""
        rows = [(name, self.lines.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """``--debug`` anywhere before ``--`` (every error says "--debug shows the traceback", and
        people add it at the end of the line they ran): taken to the front, where the group reads it."""
        end = args.index("--") if "--" in args else len(args)
        if "--debug" in args[1:end]:
            args = ["--debug", *(a for i, a in enumerate(args) if not (a == "--debug" and i < end))]
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        """click's, with the command meant where a name is mistyped (``sumary``: did you mean summary?)."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            from ..errors import did_you_mean

            raise click.UsageError(f"No such command '{name}'{did_you_mean(name, self.list_commands(ctx))} "
                                   "(vgg-inspect --help lists them)", ctx)  # fmt: skip
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        import importlib

        module, name = self.lazy[cmd_name].split(":")
        command: click.Command = getattr(importlib.import_module(f"vgg_inspect.cli.commands.{module}"), name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VggInspectError as exc:
            fail(ctx, message(exc), exc.exit_code)
        except click.UsageError as exc:  # one line, not click's usage block
            fail(ctx, exc.format_message().replace("\n", " "), exc.exit_code)
        except OSError as exc:  # e.g. --output into a missing folder
            fail(ctx, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), 1)
        except KeyboardInterrupt:
            fail(ctx, "interrupted", 130)
