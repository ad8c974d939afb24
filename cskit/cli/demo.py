"""`cskit demo`: the bundled samples into a temporary store, then the main report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store
from cskit.cli.ingest import run_ingest
from cskit.cli.kpi import run_kpi
from cskit.cli.options import LangOpt
from cskit.cli.promises import run_promises
from cskit.cli.products import run_products
from cskit.memory import reuse_freed_memory
from cskit.i18n import tr
from cskit.render import stderr_console


def _demo_data(data: Path | None, tmp: Path) -> Path:
    if data is not None:
        return data
    bundled = Path.cwd() / "sample_data"
    if (bundled / "MANIFEST.json").is_file():
        return bundled
    from cskit import sample

    out = tmp / "sample_data"
    sample.write_sample(out, sample.generate())
    return out


@app.command("demo")
@boundary
def demo_cmd(
    data: Annotated[Optional[Path], typer.Option("--data", help="Export directory to use (default: ./sample_data, else freshly generated samples).")] = None,
    keep: Annotated[Optional[Path], typer.Option("--keep", help="Keep the demo store in this directory instead of a temporary one.")] = None,
    lang: LangOpt = None,
) -> None:
    """Ingest the bundled sample exports into a temporary store and print the main report. 演示"""
    import tempfile

    from cskit.kpi import Period
    from cskit.metrics import get_rule

    with tempfile.TemporaryDirectory(prefix="cskit-demo-") as tmp:
        src = _demo_data(data, Path(tmp))
        store = open_store(keep or Path(tmp) / "store")
        err = stderr_console()
        err.print(tr("cskit demo: ingesting {src} into {store}", src=src, store=store.root), markup=False)
        run_ingest([src], store, lang=lang.value)
        rule = get_rule("pdd5")
        reuse_freed_memory()
        print()
        run_kpi(store, period=Period(None, None), rule=rule, by="shop", lang=lang.value)
        print()
        run_kpi(store, period=Period(None, None), rule=rule, by="agent", lang=lang.value)
        print()
        run_promises(store, period=Period(None, None), by="agent", lang=lang.value)  # 日清
        from cskit.cli.answers import run_answers  # 话术优化: the 3 most asked questions per shop

        print()
        run_answers(store, period=Period(None, None), top=3, lang=lang.value)
        print()
        run_products(store, period=Period(None, None), top=5, lang=lang.value)
        from cskit.cli.voice import run_voice_overview
        run_voice_overview(store, period=Period(None, None), lang=lang.value)


