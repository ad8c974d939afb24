"""Deeply nested JSON (issue 13, hostile input): a clear message naming the file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cskit.cli import app
from cskit.errors import ExitCode
from cskit.readers.json_guard import MAX_DEPTH, max_depth


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # was: internal error (RecursionError), exit 1
    '{"a":' * 900 + "1" + "}" * 900,
    '{"msg_id": "1", "from": {"role": "user", "uid": "u"}, "ts": "1777773600", "info": '
    + "[" * 5000 + "]" * 5000 + "}\n",
])
def test_deep_json_is_refused_naming_the_file(tmp_path, text):
    p = tmp_path / "deep.json"
    p.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["ingest", str(p), "--store", str(tmp_path / "s"), "--shop", "x",
                                 "--lang", "en"])
    assert r.exit_code == ExitCode.INPUT, r.output
    assert "deep.json: the JSON is nested more than 64 levels deep" in r.stderr


def test_depth_counts_brackets_outside_strings_only():
    assert max_depth('[{"a": "[[[[[[{{{{", "b": [1, {"c": "\\"]]]"}]}]') == 4
    assert max_depth('{"a": [1]}\n{"a": [1]}\n', per_line=True) == 2
    ok = '{"content": "' + "[" * (MAX_DEPTH + 10) + '", "x": {"y": [1]}}'
    assert max_depth(ok) == 3 and json.loads(ok)
