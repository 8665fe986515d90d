"""Issue 38: a command whose optional extra is not installed says which pip command installs it
(one line, exit 2), never a ModuleNotFoundError traceback. A module is made missing in a fresh
process by a ``None`` entry in ``sys.modules`` (the import then fails as if it were absent)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inkreader.errors import MissingExtra
from inkreader.extras import EXTRAS, extra_of, missing_modules, require

from .conftest import HOOKER_TSV, ROOT

WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from inkreader.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _run_without(modules: str, argv: list[str], tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT, modules, *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("modules", "argv", "extra"), [
    ("fastapi", ["serve"], "serve"),
    ("fastapi", ["serve", "--help"], "serve"),
    ("uvicorn", ["serve", "--port", "1"], "serve"),
    ("python_multipart,multipart", ["serve", "--port", "1"], "serve"),
    ("nncf", ["export", "--format", "openvino", "--int8", "--calibration", str(HOOKER_TSV),
              "--out", "int8.xml"], "quant"),
    ("fontTools", ["synth", "out", "--count", "1"], "synth"),
    ("wordfreq", ["synth", "out", "--count", "1"], "synth"),
    ("HersheyFonts", ["synth", "out", "--count", "1"], "synth"),
])
def test_a_missing_extra_is_one_line_naming_the_pip_command(modules, argv, extra, tmp_path):
    proc = _run_without(modules, argv, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"inkreader {argv[0]}: error: ")
    assert modules.split(",")[0] in lines[0]
    assert lines[0].endswith(f"pip install 'inkreader[{extra}]'")
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing started


def test_the_extras_table_matches_pyproject():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(EXTRAS) == set(declared["optional-dependencies"]) - {"dev"}
    assert extra_of("fastapi.responses") == "serve" and extra_of("numpy") is None
    for extra in EXTRAS:  # all installed here (make setup installs every extra)
        assert missing_modules(extra) == []
        require(extra, "this")


def test_require_names_every_missing_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "fontTools", None)
    monkeypatch.setitem(sys.modules, "wordfreq", None)
    with pytest.raises(MissingExtra, match=r"^synthetic lines: fontTools, wordfreq are not "
                       r"installed; pip install 'inkreader\[synth\]'$") as caught:
        require("synth", "synthetic lines")
    assert caught.value.extra == "synth" and caught.value.modules == ("fontTools", "wordfreq")


def test_an_unknown_missing_module_is_still_a_bug(tmp_path):
    # only the modules of an extra become the one-line error; any other is raised as it is
    code = ("import sys; sys.modules['inkreader.cli.info'] = None; "
            "from inkreader.cli import main; main(['info'])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "ModuleNotFoundError" in proc.stderr
