"""The plan editor's parts that need no browser, run under node (tests/js/plan_*.test.mjs):
the textarea binding's arithmetic (one changed range per input, the caret moved through
others' changes), the lists changed by others meanwhile (an outcome, action or review date
found where it now is) and the live session against a fake server keeping the socket contract
(convergence, offline edits merged on reconnect, lost answers resent, refusals)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "tests" / "js").glob("plan_*.test.mjs"))


def test_the_plan_editors_binding_and_session_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("the plan editor's tests need Node.js 20 (as `make install` does)")
    if not (ROOT / "node_modules" / "yjs").is_dir():
        pytest.fail("the plan editor's tests need its packages: run `npm ci` (or `make install`)")
    assert len(SCRIPTS) == 3
    result = subprocess.run(
        [node, "--test", *map(str, SCRIPTS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
