"""Chinese first (issue 12 point 7): every message a person reads has a Chinese entry in
cskit/data/messages.toml with the same placeholders; errors, notes and titles are Chinese by
default and English with --lang en, ``cskit --lang en`` or CSKIT_LANG=en."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cskit import i18n
from cskit.cli import app
from cskit.errors import CskitError, ExitCode, UsageError
from cskit.kpi import Period

ROOT = Path(__file__).resolve().parents[1] / "cskit"
#: constructors whose first argument (and ``hint=``) is a message template
ERRORS = {"CskitError", "UsageError", "InputFileError", "BadRowsError", "NoDataError",
          "StoreError", "FontMissingError", "EngineError"}
TRANSLATED = ERRORS | {"tr", "Msg", "fail"}


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def used_templates() -> tuple[dict[str, list[str]], list[str]]:
    """Every template the source passes to an error, ``tr`` or ``Msg``: template → places;
    and the places that pass something else than a literal (an f-string cannot be looked up)."""
    found: dict[str, list[str]] = {}
    bad: list[str] = []
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(ROOT.rglob("*.py"))
             if p != ROOT / "errors.py"}  # errors.py passes templates on
    consts = {t.id: n.value.value for tree in trees.values() for n in tree.body
              if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
              and isinstance(n.value.value, str) for t in n.targets if isinstance(t, ast.Name)}
    consts["MAPPING_HINT"] = __import__("cskit.errors").errors.MAPPING_HINT
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name(node.func) not in TRANSLATED or not node.args:
                continue
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            if _name(node.func) == "fail":  # a lexicon problem: fail(key, problem, **params)
                args = node.args[1:2]
            else:
                args = [node.args[0]]
            args = args + [k.value for k in node.keywords
                                      if k.arg == "hint" and _name(node.func) in ERRORS]
            for a in args:
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    found.setdefault(a.value, []).append(where)
                elif isinstance(a, (ast.Name, ast.Attribute)) and _name(a) in consts:
                    found.setdefault(consts[_name(a)], []).append(where)
                elif isinstance(a, ast.Constant) and a.value is None:
                    continue
                elif isinstance(a, (ast.Name, ast.Attribute)) and _name(node.func) in ("tr", "Msg"):
                    continue  # a template handed on (its literal is checked where it is written)
                else:
                    bad.append(f"{where}: {ast.unparse(a)[:60]}")
    return found, bad


def test_every_message_template_is_a_literal():
    _, bad = used_templates()
    assert not bad, "messages must be literal English templates (params as keywords):\n" + "\n".join(bad)


def test_every_message_has_a_chinese_entry_with_the_same_placeholders():
    found, _ = used_templates()
    cat = i18n.catalogue()
    missing = [f"{t!r} ({found[t][0]})" for t in found if t not in cat]
    assert not missing, "no Chinese in cskit/data/messages.toml for:\n" + "\n".join(missing)
    wrong = [t for t in found if i18n.fields(cat[t]) != i18n.fields(t)]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)
    assert len(found) > 80  # the walk sees the error sites


def test_catalogue_entries_are_chinese_and_placeholders_match():
    cat = i18n.catalogue()
    for en, zh in cat.items():
        assert i18n.fields(en) == i18n.fields(zh), en
        if not re.sub(r"{[^{}]*}", "", en).strip():
            continue  # only placeholders ("{where}{problem}")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), f"not Chinese: {zh!r}"


def test_error_renders_in_the_current_language():
    err = UsageError("--week {text!r} is not an ISO week", hint="write weeks as 2026-W47", text="w47")
    assert str(err) == "--week 'w47' is not an ISO week (hint: write weeks as 2026-W47)"
    assert err.message_en == "--week 'w47' is not an ISO week"
    assert err.localized("zh") == "--week 'w47' 不是 ISO 周（提示：周写成 2026-W47）"
    with i18n.use_lang("en"):
        assert err.localized() == str(err)
    with i18n.use_lang("zh"):
        assert err.localized().startswith("--week 'w47' 不是")


def test_language_resolution(monkeypatch):
    monkeypatch.delenv("CSKIT_LANG", raising=False)
    assert i18n.current_lang() == "zh"
    monkeypatch.setenv("CSKIT_LANG", "en_US.UTF-8")
    assert i18n.current_lang() == "en"
    with i18n.use_lang("zh"):
        assert i18n.current_lang() == "zh"
    assert i18n.tr("no such template {x}", x=1) == "no such template 1"  # missing: English


def test_period_label_says_all_dates():
    assert Period(None, None).label("zh") == "全部日期"
    assert Period(None, None).label("en") == "all dates"
    assert Period(dt.date(2026, 11, 1), None).label("zh") == "2026-11-01 起"
    assert Period(None, dt.date(2026, 11, 30)).label("en") == "until 2026-11-30"
    assert Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22)).label() == "2026-11-16 – 2026-11-22"


def test_msg_parameter_follows_the_language_of_its_message():
    from cskit.i18n import Msg

    err = CskitError("{path}: not recognised as {want} (headers found: {shown})",
                     path="x.csv", want=Msg("a chat log"), shown="a, b")
    assert str(err) == "x.csv: not recognised as a chat log (headers found: a, b)"
    assert "聊天记录" in err.localized("zh")


# ------------------------------------------------------------------------------ CLI

def run(*args, env=None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture
def no_env_lang(monkeypatch):
    monkeypatch.delenv("CSKIT_LANG", raising=False)


def test_cli_error_is_chinese_by_default(tmp_path, no_env_lang):
    r = run("kpi", "--store", tmp_path / "s", "--week", "2026-47")
    assert r.exit_code == ExitCode.USAGE
    assert r.stderr == "Error: --week '2026-47' 不是 ISO 周（提示：周写成 2026-W47）\n"


@pytest.mark.parametrize("how", ["option", "global", "env"])
def test_cli_error_in_english_on_request(tmp_path, no_env_lang, how):
    args = ["kpi", "--store", tmp_path / "s", "--week", "2026-47"]
    env = None
    if how == "option":
        args += ["--lang", "en"]
    elif how == "global":
        args = ["--lang", "en"] + args
    else:
        env = {"CSKIT_LANG": "en"}
    r = run(*args, env=env)
    assert r.exit_code == ExitCode.USAGE
    assert r.stderr == "Error: --week '2026-47' is not an ISO week (hint: write weeks as 2026-W47)\n"


def test_command_lang_wins_over_env_and_sets_headers(tmp_path, no_env_lang):
    r = run("kpi", "--store", tmp_path / "s", "--week", "2026-47", "--lang", "zh",
            env={"CSKIT_LANG": "en"})
    assert "不是 ISO 周" in r.stderr


def test_store_error_chinese_and_english(tmp_path, no_env_lang):
    (tmp_path / "notastore").mkdir()
    (tmp_path / "notastore" / "x.txt").write_text("x")
    r = run("kpi", "--store", tmp_path / "empty")
    assert r.exit_code == ExitCode.NO_DATA
    assert r.stderr.startswith("Error: ") and "仓库里没有聊天记录" in r.stderr
    r = run("--lang", "en", "kpi", "--store", tmp_path / "empty")
    assert "the store holds no chat messages" in r.stderr


def _chats(tmp_path: Path) -> Path:
    p = tmp_path / "chats.csv"
    p.write_text("shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
                 "店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,\n"
                 "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:02:00,在的,,\n"
                 "店A,pdd,,b2,,martian,2026-11-16 10:00:00,包邮吗,,\n", encoding="utf-8")
    return p


def test_ingest_notes_are_chinese_by_default(tmp_path, no_env_lang):
    d = tmp_path / "exports"
    d.mkdir()
    _chats(d)
    (d / "photo.png").write_bytes(b"x")
    r = run("ingest", d, "--store", tmp_path / "s", "--max-bad-rows", "0.5")
    assert r.exit_code == 0, r.stderr
    assert "warning: " in r.stderr and "行被拒绝" in r.stderr and "第 4 行：发送方角色无法识别" in r.stderr
    assert "note: 已跳过" in r.stderr
    r = run("ingest", d, "--store", tmp_path / "s2", "--max-bad-rows", "0.5", "--lang", "en")
    assert "row(s) rejected" in r.stderr and "row 4: unknown sender role" in r.stderr
    assert "note: skipped" in r.stderr


def test_kpi_title_says_all_dates(tmp_path, no_env_lang):
    f = _chats(tmp_path)
    run("ingest", f, "--store", tmp_path / "s", "--max-bad-rows", "0.5")
    r = run("kpi", "--store", tmp_path / "s", "--by", "shop")
    assert r.exit_code == 0, r.stderr
    assert "全部日期" in r.stdout and "…" not in r.stdout
    r = run("kpi", "--store", tmp_path / "s", "--by", "shop", "--lang", "en")
    assert "all dates" in r.stdout
    r = run("kpi", "--store", tmp_path / "s", "--by", "shop", "-f", "json", "--lang", "en")
    assert json.loads(r.stdout)["since"] is None  # machine keys and values do not change


def test_reject_reasons_keep_the_header_as_found():
    from cskit.i18n import RejectedRows, reject_reason

    assert reject_reason("order id missing (column 订单编号)", "zh") == "缺少订单号（列 订单编号）"
    assert reject_reason("order id missing (column 订单编号)", "en") == "order id missing (column 订单编号)"
    assert reject_reason("something new", "zh") == "something new"  # unknown: as the reader said it
    with i18n.use_lang("zh"):
        assert f"{RejectedRows([(4, 'bad timestamp'), (9, 'missing buyer')])}" == \
            "第 4 行：时间无法识别; 第 9 行：缺少买家"
