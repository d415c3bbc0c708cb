"""The README tells a newcomer the truth: every CLI command and every setting is there."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from workspace.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def commands(parser: argparse.ArgumentParser, prefix: str = "caseroom") -> list[str]:
    found: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = commands(sub, f"{prefix} {name}")
                found.extend(nested or [f"{prefix} {name}"])
    return found


def test_every_cli_command_is_in_the_readme() -> None:
    missing = [c for c in commands(build_parser()) if f"`{c}" not in README]
    assert missing == []


def test_every_setting_is_in_the_readme() -> None:
    source = (Path(__file__).resolve().parent.parent / "workspace" / "settings.py").read_text()
    settings = set(re.findall(r'"(CASEROOM_[A-Z_]+)"', source))
    assert settings
    assert sorted(s for s in settings if f"`{s}`" not in README) == []


def test_the_two_commands_are_in_the_readme() -> None:
    assert "make run" in README and "make test" in README
