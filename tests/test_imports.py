"""Start-up cost: what importing the CLI, and running `cskit kpi`, loads.

Each check runs in a fresh interpreter (this test process has long since imported
everything) and looks at ``sys.modules``; timing never decides a test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.chatlog import chat_store

ROOT = Path(__file__).resolve().parents[1]


def _loaded(code: str, *args: str) -> set[str]:
    """The modules loaded after running ``code`` in a fresh interpreter (dotted names and
    their top-level packages)."""
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, check=True)
    names = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    return names | {m.split(".")[0] for m in names}


def _kpi_loaded(tmp_path, *args: str) -> set[str]:
    """The modules a fresh ``cskit kpi --store <a two-message store> ARGS`` loads (it must
    exit 0)."""
    store = chat_store(tmp_path, [
        "店A,pdd,c1,b1,,buyer,2026-11-02 10:00:00,在吗,text,m1",
        "店A,pdd,c1,b1,a1,agent,2026-11-02 10:01:00,在的亲,text,m2",
    ])
    code = ("import sys\nfrom cskit.cli import app\n"
            f"try:\n    app(['kpi', '--store', sys.argv[1], *{list(args)!r}])\n"
            "except SystemExit as e:\n    assert not e.code, e.code")
    return _loaded(code, str(store))


def test_import_cli_is_light():
    """`import cskit.cli` (what `cskit --help` pays) loads neither the charting nor the
    tokenizer library, nor the data stack: each command imports what it needs."""
    loaded = _loaded("import cskit.cli")
    assert "cskit" in loaded
    for heavy in ("matplotlib", "jieba", "pandas", "numpy", "pyarrow", "rich"):
        assert heavy not in loaded, heavy


def test_kpi_does_not_load_charts_or_tokenizer(tmp_path):
    """`cskit kpi` needs pandas and pyarrow, but not matplotlib or jieba (nor the lost/qc
    lexicons behind ``cskit.text``), nor pydantic (typer's option conversion: plain option
    values are converted by cskit.cli.coercion).  As CSV it loads no rich either (notes are
    written by cskit.render.print_line), nor the ingest readers behind the store's writes."""
    loaded = _kpi_loaded(tmp_path, "--format", "csv")
    assert "pandas" in loaded and "pyarrow" in loaded  # it did compute
    for heavy in ("matplotlib", "jieba", "cskit.charts", "cskit.text.lost", "cskit.text.qc",
                  "cskit.text.lexicon", "pydantic", "rich", "cskit.readers", "cskit.versions"):
        assert heavy not in loaded, heavy


def test_kpi_table_to_a_pipe_loads_no_rich_console(tmp_path):
    """`cskit kpi` as a table on a pipe: the table is written as text (cskit.plain_table via
    cskit.render._PipeConsole); rich's Console (about 30 ms of imports) is not loaded."""
    loaded = _kpi_loaded(tmp_path)
    assert "cskit.plain_table" in loaded  # it did draw a table
    assert "rich.console" not in loaded and "pydantic" not in loaded


def test_import_cli_loads_no_command_module():
    """`import cskit.cli` registers no command: each command's module is imported when that
    command is looked up (cskit.cli.app.LazyGroup)."""
    loaded = _loaded("import cskit.cli")
    commands = {m for m in loaded if m.startswith("cskit.cli.")} - {
        "cskit.cli.app", "cskit.cli.coercion"}
    assert not commands, commands


def test_kpi_imports_only_its_own_command_module(tmp_path):
    """`cskit kpi` imports cskit.cli.kpi (and the shared options), not the modules of the
    other commands (answers' alone imported typer's rich-free help machinery and more)."""
    loaded = _kpi_loaded(tmp_path, "--format", "csv")
    assert "cskit.cli.kpi" in loaded and "pandas" in loaded  # it did run
    others = {m for m in loaded if m.startswith("cskit.cli.")} - {
        "cskit.cli.app", "cskit.cli.coercion", "cskit.cli.options", "cskit.cli.kpi"}
    assert not others, others
    for heavy in ("matplotlib", "jieba", "cskit.report", "cskit.charts"):
        assert heavy not in loaded, heavy


def test_every_command_is_listed_with_its_module():
    """Each ``@app.command("NAME")`` in cskit/cli/*.py is in COMMANDS with the module that
    registers it (a command missing there could never be found), and nothing else is."""
    import importlib
    import re

    from cskit.cli.app import COMMANDS, app

    found = {}
    for path in sorted((ROOT / "cskit" / "cli").glob("*.py")):
        for name in re.findall(r'@app\.command\(\s*"([^"]+)"', path.read_text(encoding="utf-8")):
            found[name] = f"cskit.cli.{path.stem}"
    assert found == COMMANDS
    for module in COMMANDS.values():
        importlib.import_module(module)
    registered = {i.name: i.callback.__module__ for i in app.registered_commands}
    assert registered == COMMANDS


def test_help_lists_every_command_in_order():
    """`cskit --help` (a fresh interpreter) lists every command, in COMMANDS' order, each
    with the first line of its own help, as the eager registration did."""
    from cskit.cli.app import COMMANDS

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "cskit", "--help"], capture_output=True,
                         text=True, env=env, cwd=ROOT, check=True).stdout
    listed = out.split("Commands:", 1)[1].splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    assert names == list(COMMANDS)
    kpi_line = next(line for line in listed if line.split() and line.split()[0] == "kpi")
    assert "Reply rate" in kpi_line


def test_kpi_imports_its_library_with_the_collector_paused(tmp_path):
    """`cskit kpi` imports cskit.kpi (pandas, pyarrow) through cskit.cli.app.import_paused:
    what the imports created is frozen (gc.freeze), so collections during the run, and
    the shutdown, skip it."""
    store = chat_store(tmp_path, [
        "店A,pdd,c1,b1,,buyer,2026-11-02 10:00:00,在吗,text,m1",
        "店A,pdd,c1,b1,a1,agent,2026-11-02 10:01:00,在的亲,text,m2",
    ])
    code = ("import gc, sys\nfrom cskit.cli import app\n"
            "try:\n    app(['kpi', '--store', sys.argv[1], '--format', 'csv'])\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "assert gc.isenabled()\n"
            "print('frozen', gc.get_freeze_count(), file=sys.stderr)")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code, str(store)], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=True)
    frozen = int(proc.stderr.strip().splitlines()[-1].split()[1])
    assert frozen > 50_000  # pandas' and pyarrow's objects


def test_main_freezes_the_heap_before_shutdown():
    """cskit.cli.main freezes the heap when the command ends (the shutdown's collections
    then skip it); exit handlers still run after it."""
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
            "from cskit.cli import main\nsys.argv = ['cskit', '--version']\nmain()")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("cskit ")
    assert lines[-1].startswith("frozen ") and int(lines[-1].split()[1]) > 0
