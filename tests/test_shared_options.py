"""The shared options are defined once (cli/options.py SHARED_OPTIONS) and given to every
command by `shared_options`: same help everywhere; a command's own annotated parameter of
the same name keeps its own meaning."""

from __future__ import annotations

import pytest

import cskit.cli  # noqa: F401
from chatlog import run

COMMANDS = ["kpi", "unpaid", "lost", "qc", "promises", "voice", "products", "answers", "ratings",
            "workload"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_the_shared_options_with_one_help(command):
    r = run(command, "--help")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    for opt in ("--store", "--shop", "--since", "--until", "--week", "--last-week", "--wide",
                "--format", "--lang", "--output", "--excel"):
        assert opt in text, (command, opt)
    assert "Only this shop (repeatable)" in text  # the shared --shop, not a copy


def test_a_commands_own_option_of_a_shared_name_keeps_its_meaning():
    text = " ".join(run("ingest", "--help").stdout.split())
    assert "Shop name for files that do not name one" in text
    assert "Only this shop (repeatable)" not in text
