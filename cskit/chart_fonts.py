"""The CJK font charts draw Chinese with: :func:`find_cjk_font` (``CSKIT_FONT``, the fonts
matplotlib knows, pip font packages, fontconfig — in that order), :class:`CJKFont`,
:class:`FontMissingError` and :data:`FONT_HINT`, and :func:`_undrawable` (the characters the
fallback font cannot draw, so a chart refuses tofu rather than drawing empty boxes).

The one global effect of charts lives here: a font file found outside matplotlib's own
cache is registered with ``matplotlib.font_manager.fontManager``.  Not here: building or
saving figures (:mod:`cskit.chart_figure`) or any chart (:mod:`cskit.charts`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from cskit.errors import UsageError

__all__ = ["CJKFont", "FontMissingError", "FONT_HINT", "PREFERRED_FAMILIES", "FONT_PACKAGES",
           "find_cjk_font"]

#: families tried in this order (Simplified Chinese first, then other CJK fonts that
#: cover the Simplified Chinese characters cskit draws)
PREFERRED_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "思源黑体", "Source Han Sans", "Sarasa Gothic SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
    "文泉驿微米黑", "文泉驿正黑", "Microsoft YaHei", "微软雅黑", "PingFang SC", "Hiragino Sans GB",
    "Heiti SC", "STHeiti", "SimHei", "黑体", "Noto Serif CJK SC", "Noto Sans CJK TC",
    "Noto Sans CJK HK", "Noto Sans CJK JP", "Noto Sans CJK KR", "Droid Sans Fallback",
    "AR PL UMing CN", "AR PL UKai CN", "LXGW WenKai", "Arial Unicode MS",
)
#: pip packages that ship a CJK font file: (import name, files inside the package, in order
#: of preference).  ``noto-cjk-sans-otc`` is the ``fonts`` extra of cskit.
FONT_PACKAGES = (
    ("noto_cjk_sans_otc", ("NotoSansCJK-Regular.ttc",)),
    ("mplfonts", ("fonts/NotoSansCJKsc-Regular.otf", "fonts/SourceHanSerifSC-Regular.otf",
                  "fonts/NotoSerifCJKsc-Regular.otf")),
)
#: characters a usable CJK font must draw
_PROBE = "回复率客服店铺询单流失周一"
FONT_HINT = ("pip install 'cskit[fonts]' (Noto Sans CJK), or apt-get install fonts-noto-cjk "
             "(Debian/Ubuntu), or set CSKIT_FONT to a .ttf/.otf/.ttc file")
#: the font every matplotlib install has: glyphs it lacks need the CJK font
_FALLBACK = "DejaVu Sans"


class FontMissingError(UsageError):
    """A chart holds Chinese (or other) text and no font on this machine can draw it."""


@dataclass(frozen=True)
class CJKFont:
    family: str  #: matplotlib family name
    path: str  #: the font file
    source: str  #: "CSKIT_FONT", "matplotlib", "package:<name>" or "fontconfig"


def find_cjk_font() -> CJKFont | None:
    """The CJK font charts use, or None when this machine has none.

    Looked for in this order: the ``CSKIT_FONT`` environment variable (a font
    file, or an installed family name; an unusable value is a
    :class:`~cskit.errors.UsageError`); fonts matplotlib already knows, by
    :data:`PREFERRED_FAMILIES`; font files shipped by pip packages
    (:data:`FONT_PACKAGES`: ``noto-cjk-sans-otc`` = ``pip install 'cskit[fonts]'``,
    or ``mplfonts``); finally fontconfig (``fc-list :lang=zh``), which also finds
    fonts installed after matplotlib built its font cache.  A font must draw a
    few common Chinese characters to be chosen.  The result is cached per value
    of ``CSKIT_FONT``.
    """
    return _find_cjk_font(os.environ.get("CSKIT_FONT") or None)


@functools.lru_cache(maxsize=8)
def _find_cjk_font(env: str | None) -> CJKFont | None:
    if env:
        return _from_env(env)
    return _from_matplotlib() or _from_packages() or _from_fontconfig()


def _font_manager():
    from matplotlib import font_manager

    return font_manager.fontManager


def _covers(path: str, text: str = _PROBE) -> bool:
    try:
        from matplotlib.ft2font import FT2Font

        cmap = FT2Font(path).get_charmap()
    except Exception:  # noqa: BLE001 - an unreadable font is simply not used
        return False
    return all(ord(c) in cmap for c in text)


def _register(path: str) -> list[str]:
    """Add a font file to matplotlib; the family names it registered."""
    fm = _font_manager()
    known = [e.name for e in fm.ttflist if e.fname == path]
    if known:
        return known
    try:
        fm.addfont(path)
    except Exception:  # noqa: BLE001
        return []
    return [e.name for e in fm.ttflist if e.fname == path]


def _best_family(names: Sequence[str]) -> str | None:
    for fam in PREFERRED_FAMILIES:
        if fam in names:
            return fam
    return names[0] if names else None


def _from_env(value: str) -> CJKFont:
    p = Path(value).expanduser()
    if p.is_file():
        fam = _best_family(_register(str(p)))
        if fam is None or not _covers(str(p)):
            raise UsageError("CSKIT_FONT={value}: not a font that can draw Chinese text",
                             hint=FONT_HINT, value=value)
        return CJKFont(fam, str(p), "CSKIT_FONT")
    entries = [e for e in _font_manager().ttflist if e.name == value]
    for e in entries:
        if _covers(e.fname):
            return CJKFont(value, e.fname, "CSKIT_FONT")
    raise UsageError("CSKIT_FONT={value}: no such font file or installed font family that draws Chinese text",
                     hint=FONT_HINT, value=value)


def _from_matplotlib() -> CJKFont | None:
    entries: dict[str, list] = {}
    for e in _font_manager().ttflist:
        entries.setdefault(e.name, []).append(e)
    for fam in PREFERRED_FAMILIES:
        # regular weight, upright first
        for e in sorted(entries.get(fam, ()), key=lambda e: (e.style != "normal",
                                                             abs(_weight(e.weight) - 400))):
            if _covers(e.fname):
                return CJKFont(fam, e.fname, "matplotlib")
    return None


def _weight(w) -> int:
    if isinstance(w, (int, float)):
        return int(w)
    from matplotlib.font_manager import weight_dict

    return int(weight_dict.get(str(w), 400))


def _package_dir(name: str) -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _from_packages() -> CJKFont | None:
    for name, files in FONT_PACKAGES:
        d = _package_dir(name)
        if d is None:
            continue
        for rel in files:
            p = d / rel
            if p.is_file() and _covers(str(p)):
                fam = _best_family(_register(str(p)))
                if fam:
                    return CJKFont(fam, str(p), f"package:{name}")
    return None


def _from_fontconfig() -> CJKFont | None:
    exe = shutil.which("fc-list")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, ":lang=zh", "--format", "%{family[0]}\t%{file}\n"],
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = {}
    for line in out.splitlines():
        fam, _, path = line.partition("\t")
        if path:
            found.setdefault(fam.strip(), path.strip())
    order = [f for f in PREFERRED_FAMILIES if f in found] + sorted(set(found) - set(PREFERRED_FAMILIES))
    for fam in order:
        path = found[fam]
        if _covers(path):
            names = _register(path)
            best = fam if fam in names else _best_family(names)
            if best:
                return CJKFont(best, path, "fontconfig")
    return None


@functools.lru_cache(maxsize=1)
def _fallback_charmap() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=_FALLBACK),
                                 fallback_to_default=True)
    return frozenset(FT2Font(path).get_charmap())


def _undrawable(texts: Iterable[str]) -> str:
    """Characters of ``texts`` the fallback font has no glyph for."""
    cmap = _fallback_charmap()
    bad = {c for t in texts for c in t if not c.isspace() and ord(c) not in cmap}
    return "".join(sorted(bad))
