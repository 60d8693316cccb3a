"""The docs keep up with the product: every CLI command, setting and import key is documented."""

from __future__ import annotations

import re

import click

from conftest import REPO
from townhall.cli import main
from townhall.items.importers import JsonlItem

README = (REPO / "README.md").read_text()
IMPORT_DOC = (REPO / "docs" / "import-format.md").read_text()


def _commands(group: click.Group, prefix: str = "townhall") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            names.extend(_commands(command, full))
        else:
            names.append(full)
    return names


def test_every_cli_command_is_in_the_readme() -> None:
    missing = []
    for command in _commands(main):
        # "townhall workspace create SLUG [--name N] | list" documents both subcommands
        *parents, leaf = command.split()
        pattern = re.escape(" ".join(parents)) + r"\b[^\n]*\b" + re.escape(leaf) + r"\b"
        if not re.search(pattern, README):
            missing.append(command)
    assert not missing, f"undocumented commands: {missing}"


def test_every_setting_is_in_the_readme() -> None:
    source = (REPO / "src" / "townhall" / "settings.py").read_text()
    source += (REPO / "src" / "townhall" / "core" / "config.py").read_text()
    used = set(re.findall(r"TOWNHALL_[A-Z_]+", source)) - {"TOWNHALL_TESTING"}
    missing = sorted(name for name in used if name not in README)
    assert not missing, f"undocumented settings: {missing}"


def test_every_generic_import_key_is_documented() -> None:
    missing = [key for key in JsonlItem.model_fields if f"`{key}`" not in IMPORT_DOC]
    assert not missing, f"keys missing from docs/import-format.md: {missing}"


def test_the_two_commands_come_first_in_the_readme() -> None:
    head = README.split("##")[0]
    assert "make up" in head and "make test" in head
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M), ".ci/run must run the README's test command exactly"
