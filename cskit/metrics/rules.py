"""Reply-rate rules: the default PDD 5-minute rule and the platform presets.

A :class:`RuleConfig` says which buyer messages count (the time window, judged by
the buyer message's own time), how long a reply may take (``threshold_s``),
whether robot messages count as replies, and what is counted (``unit``: buyers,
rounds, messages or sessions).  Options given on the command line override a
preset's fields (:func:`get_rule`).  See docs/metrics.md for every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import time

from cskit.errors import UsageError

__all__ = ["RuleConfig", "PRESETS", "UNITS", "DEFAULT_RULE", "parse_threshold", "parse_window",
           "format_threshold", "get_rule"]

UNITS = ("buyer", "round", "message", "session")
DEFAULT_RULE = "pdd5"
_DAY = 86400


def _secs(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@dataclass(frozen=True)
class RuleConfig:
    """One reply-rate rule.

    ``window_start``/``window_end`` bound the buyer messages that count:
    ``[start, end)`` in shop-local wall-clock time.  ``window_end == time(0)``
    means midnight at the end of the day ("24:00").  An end before the start is
    an overnight window (e.g. 22:00-06:00).
    """

    name: str = "pdd5"
    threshold_s: int = 300
    window_start: time = time(8, 0)
    window_end: time = time(23, 0)
    #: robot (``bot``) messages count as replies (default: only human ``agent`` messages)
    count_bot_replies: bool = False
    #: what the headline rate counts: buyer (buyer-days), round, message or session
    unit: str = "buyer"
    #: pdd3: leave out of the denominator buyer-days handled only by the robot
    #: (≥1 bot message and no human agent message that calendar day)
    exclude_bot_only: bool = False
    #: taobao: a reply on a later calendar day than the message is a failure
    midnight_cutoff: bool = False
    #: cap of one round in response_s_capped_mean (Taobao 人工平响时长: 600 s)
    response_cap_s: int = 600
    #: the platform defines the capped mean (Taobao 人工平响时长): tables and the report
    #: show response_s_capped_mean (CSV/JSON always carry it)
    capped_mean: bool = False
    #: title templates; ``{t}`` becomes the threshold ("5分钟", "30秒" / "5 min")
    title_zh: str = "{t}回复率"
    title_en: str = "{t} reply rate"
    description: str = ""

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise UsageError("unknown rule unit {unit!r}",
                             hint="one of {choices}", unit=self.unit, choices=", ".join(UNITS))
        if not isinstance(self.threshold_s, int) or isinstance(self.threshold_s, bool) \
                or self.threshold_s < 0:
            raise UsageError("reply threshold must be a whole number of seconds ≥ 0, not {threshold_s!r}",
                             threshold_s=self.threshold_s)
        if not isinstance(self.response_cap_s, int) or self.response_cap_s <= 0:
            raise UsageError("response cap must be a positive number of seconds, not {response_cap_s!r}",
                             response_cap_s=self.response_cap_s)
        for t in (self.window_start, self.window_end):
            if not isinstance(t, time):
                raise UsageError("window bounds must be datetime.time, not {t!r}", t=t)
        if self.window_start == self.window_end and self.window_end != time(0):
            raise UsageError("the time window is empty (start equals end)",
                             hint="write it like 08:00-23:00, or 00:00-24:00 for the whole day")

    # -- derived -------------------------------------------------------------------------
    @property
    def window_start_s(self) -> int:
        """Window start, seconds after midnight."""
        return _secs(self.window_start)

    @property
    def window_end_s(self) -> int:
        """Window end, seconds after midnight, in ``(0, 86400]`` (00:00 means 24:00)."""
        e = _secs(self.window_end)
        return e if e > 0 else _DAY

    @property
    def window_label(self) -> str:
        end = "24:00" if self.window_end == time(0) else self.window_end.strftime("%H:%M")
        return f"{self.window_start.strftime('%H:%M')}-{end}"

    @property
    def label_zh(self) -> str:
        """Title of the headline rate, e.g. ``5分钟回复率``."""
        return self.title_zh.format(t=format_threshold(self.threshold_s, "zh"))

    @property
    def label_en(self) -> str:
        return self.title_en.format(t=format_threshold(self.threshold_s, "en"))

    def with_options(self, *, threshold: str | int | None = None,
                     window: str | tuple[time, time] | None = None,
                     count_bot_replies: bool | None = None, **other) -> "RuleConfig":
        """A copy with options applied (``None`` = keep the preset's value).

        ``threshold`` may be ``"5m"``/``"30s"``/``300``; ``window`` ``"08:00-23:00"``
        or a ``(start, end)`` pair; any other field may be passed by name.
        """
        changes: dict = {k: v for k, v in other.items() if v is not None}
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise UsageError("unknown rule option {option!r}", option=sorted(unknown)[0])
        if threshold is not None:
            changes["threshold_s"] = parse_threshold(threshold)
        if window is not None:
            start, end = parse_window(window) if isinstance(window, str) else window
            changes["window_start"], changes["window_end"] = start, end
        if count_bot_replies is not None:
            changes["count_bot_replies"] = bool(count_bot_replies)
        return replace(self, **changes) if changes else self


_THRESH = re.compile(
    r"^(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*(?:m|min|分钟?))?\s*(?:(?P<s>\d+)\s*(?:s|sec|秒)?)?$",
    re.IGNORECASE)


def parse_threshold(text: str | int) -> int:
    """``"5m"`` → 300, ``"3m"`` → 180, ``"30s"`` → 30, ``"300"`` → 300, ``"1m30s"`` → 90.

    Also ``"1h"``, ``"5min"``, ``"5分钟"``, ``"30秒"``; a bare number is seconds.
    """
    if isinstance(text, bool):
        raise UsageError("bad reply threshold {text!r}", text=text)
    if isinstance(text, int):
        if text < 0:
            raise UsageError("reply threshold must be ≥ 0 seconds, not {text}", text=text)
        return text
    s = str(text).strip()
    m = _THRESH.match(s)
    if not s or not m or not any(m.group(g) for g in ("h", "m", "s")):
        raise UsageError("bad reply threshold {text!r}",
                         hint="write it like 5m, 3m, 30s, 1m30s or a number of seconds", text=text)
    # a bare number followed by nothing is seconds; "5" alone is 5 s
    h, mi, se = (int(m.group(g) or 0) for g in ("h", "m", "s"))
    return h * 3600 + mi * 60 + se


def _parse_clock(text: str, *, end: bool) -> time:
    t = text.strip()
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?", t)
    if not m:
        raise ValueError(t)
    h, mi, se = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0)
    if end and (h, mi, se) == (24, 0, 0):
        return time(0)
    return time(h, mi, se)  # ValueError when out of range


def parse_window(text: str) -> tuple[time, time]:
    """``"08:00-23:00"`` → ``(time(8), time(23))``; ``"08:00-24:00"`` → end ``time(0)``
    (midnight at the end of the day).  Separators ``-``, ``–``, ``~``, ``～``."""
    parts = re.split(r"\s*[-–~～]\s*", str(text).strip())
    try:
        if len(parts) != 2:
            raise ValueError(text)
        start, end = _parse_clock(parts[0], end=False), _parse_clock(parts[1], end=True)
    except ValueError:
        raise UsageError("bad time window {text!r}",
                         hint="write it like 08:00-23:00 (end excluded; 24:00 = midnight)", text=text) \
            from None
    if start == end and end != time(0):
        raise UsageError("time window {text!r} is empty", text=text)
    return start, end


def format_threshold(seconds: int, lang: str = "zh") -> str:
    """300 → ``5分钟`` / ``5 min``; 30 → ``30秒`` / ``30 s``; 90 → ``1分30秒`` / ``1 min 30 s``."""
    m, s = divmod(int(seconds), 60)
    if lang == "zh":
        if m and s:
            return f"{m}分{s}秒"
        return f"{m}分钟" if m else f"{s}秒"
    if m and s:
        return f"{m} min {s} s"
    return f"{m} min" if m else f"{s} s"


PRESETS: dict[str, RuleConfig] = {
    "pdd5": RuleConfig(
        name="pdd5", threshold_s=300, unit="buyer",
        title_zh="{t}回复率", title_en="{t} reply rate",
        description="PDD 5分钟回复率: buyers (per day) whose every 08:00-23:00 message got a "
                    "human reply within 5 minutes / buyers who consulted"),
    "pdd3": RuleConfig(
        name="pdd3", threshold_s=180, unit="buyer", exclude_bot_only=True,
        title_zh="{t}人工回复率", title_en="{t} human reply rate",
        description="PDD 3分钟人工回复率 (manuReplyRate3Min): as pdd5 with 3 minutes; buyer-days "
                    "handled only by the robot are left out (cskit's reading)"),
    "taobao": RuleConfig(
        name="taobao", threshold_s=180, unit="round", midnight_cutoff=True, capped_mean=True,
        title_zh="旺旺{t}人工响应率", title_en="Wangwang {t} human response rate",
        description="Taobao 旺旺3分钟人工响应率: rounds (首问首答) answered by a human within "
                    "3 minutes / rounds started 08:00-23:00"),
    "jd": RuleConfig(
        name="jd", threshold_s=30, unit="session", window_start=time(9, 0),
        window_end=time(23, 0),
        title_zh="咚咚首次{t}应答率", title_en="Dongdong first-response {t} rate",
        description="JD 咚咚首次30秒应答率: sessions whose first buyer message got a human reply "
                    "within 30 s / sessions started 09:00-23:00"),
    "douyin": RuleConfig(
        name="douyin", threshold_s=180, unit="message",
        title_zh="{t}人工回复率(消息)", title_en="{t} human reply rate (messages)",
        description="Douyin 3分钟人工回复率, message level: 08:00-23:00 buyer messages answered "
                    "by a human within 3 minutes / those messages"),
}


def get_rule(name: str | RuleConfig | None = None, *, threshold: str | int | None = None,
             window: str | tuple[time, time] | None = None,
             count_bot_replies: bool | None = None, **other) -> RuleConfig:
    """A preset (default ``pdd5``) with options applied."""
    if isinstance(name, RuleConfig):
        base = name
    else:
        key = (name or DEFAULT_RULE).strip().lower()
        if key not in PRESETS:
            raise UsageError("unknown reply rule {name!r}",
                             hint="one of {choices}", name=name, choices=", ".join(PRESETS))
        base = PRESETS[key]
    return base.with_options(threshold=threshold, window=window,
                             count_bot_replies=count_bot_replies, **other)
