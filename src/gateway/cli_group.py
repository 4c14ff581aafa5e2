"""The `gateway` command group: sub-commands imported only when run, and problems told in one
line.

`gateway --help` must answer at once, so the top level knows each command by name and summary
and imports its module (and with it the server, SQLAlchemy, FastAPI) only to run it or show its
own help. Any exception escaping a command becomes one line on stderr saying what is wrong and
what to do (gateway.cli_problems) with exit code 1; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from . import cli_problems
from .cli_lang import language


@dataclass(frozen=True)
class LazyCommand:
    """`target` is "module:attribute" — a Typer app (a command group), a function (one
    command), or "module:attribute.name" for one command of a Typer app."""

    target: str
    summary: str

    def load(self, name: str) -> Any:
        module_name, _, attribute = self.target.partition(":")
        attribute, _, command_name = attribute.partition(".")
        obj = getattr(importlib.import_module(module_name), attribute)
        if isinstance(obj, typer.Typer):
            group = typer.main.get_group(obj)  # a group even with one command (`db upgrade`)
            if command_name:
                return group.commands[command_name]  # type: ignore[attr-defined]
            return group
        single = typer.Typer()
        single.command(name)(obj)
        return typer.main.get_command(single)


class LazyGatewayGroup(TyperGroup):
    lazy: ClassVar[dict[str, LazyCommand]] = {}  # set by gateway.cli

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._summaries_only = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *self.lazy]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        lazy = self.lazy[cmd_name]
        if self._summaries_only:  # the top-level help lists names and summaries only
            return TyperCommand(cmd_name, help=lazy.summary, short_help=lazy.summary)
        command = lazy.load(cmd_name)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._summaries_only = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._summaries_only = False

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort, EOFError):
            raise  # usage errors, deliberate exits, Ctrl-D at a prompt: typer's own handling
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            typer.echo(cli_problems.explain(exc, language()), err=True)
            raise typer.Exit(code=1) from None
