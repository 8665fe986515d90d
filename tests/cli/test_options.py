"""Every option of every command says what it does, and ``inkreader --version`` answers."""

from __future__ import annotations

import argparse

import pytest

from inkreader import __version__
from inkreader.cli import build_parser, main


def _parsers(parser: argparse.ArgumentParser, name: str = "inkreader"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, p in action.choices.items():
                yield from _parsers(p, f"{name} {sub}")


def test_every_option_of_every_command_has_help():
    missing = [f"{name} {a.option_strings or a.dest}" for name, p in _parsers(build_parser())
               for a in p._actions if not a.help and not isinstance(a, argparse._HelpAction)]
    assert not missing


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"inkreader {__version__}"
