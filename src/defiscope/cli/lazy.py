"""A command group whose subcommands are imported only when invoked (Click's "lazily loading subcommands").

The root group knows each subcommand's name and one-line help as data; `defiscope --help` lists them from that
data, and `defiscope tvl ...` imports `defiscope.cli.tvl` alone. A subcommand module exposes a `typer.Typer`:

    LazyCommand("devnet", "defiscope.cli.devnet", "devnet_app", "Local anvil chains ...", group=True)
    LazyCommand("tvl", "defiscope.cli.tvl", "commands", "Rank protocols by TVL ...")

`group=True`: the Typer is the group itself (`defiscope devnet up`); otherwise it holds top-level commands and
the one named like the entry is taken (`defiscope tvl`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click  # typer vendors click: its groups take click's own Context and Command
from typer.core import TyperCommand, TyperGroup
from typer.main import get_group


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a subcommand lives and what the root help says about it, known without importing it."""

    name: str
    module: str
    attribute: str
    help: str
    group: bool = False

    def load(self) -> TyperCommand | TyperGroup:
        """Import the module and build the subcommand exactly as the eager app's `add_typer` / `command` did."""
        typer_app = getattr(importlib.import_module(self.module), self.attribute)
        if not isinstance(typer_app, typer.Typer):
            raise TypeError(f"{self.module}.{self.attribute} is not a typer.Typer")
        built = get_group(typer_app)
        if self.group:
            built.name = self.name
            return built
        command = built.commands[self.name]
        if not isinstance(command, TyperCommand):
            raise TypeError(f"{self.module} has no command {self.name!r}")
        return command


class LazyGroup(TyperGroup):
    """A Typer group listing `lazy_commands` from their data and importing one only to run it (or its help)."""

    lazy_commands: ClassVar[Sequence[LazyCommand]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._lazy = {entry.name: entry for entry in self.lazy_commands}
        # Stand-ins carry the name and help line for listings; resolve_command swaps in the real command.
        for entry in self.lazy_commands:
            self.commands.setdefault(entry.name, TyperCommand(entry.name, help=entry.help))

    def load(self, name: str) -> None:
        """Replace the stand-in of `name` by the imported subcommand (once)."""
        entry = self._lazy.pop(name, None)
        if entry is not None:
            self.commands[name] = entry.load()

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        if args:
            self.load(args[0])
        return super().resolve_command(ctx, args)
