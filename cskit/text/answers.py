"""Answers that sell (话术优化): frequent buyer questions grouped, every agent's typical
answer to them and its outcome, and the best answer per question as an FAQ draft.

Pure functions, frames in, frames out; nothing prints.  The rules (docs/text.md,
"Answers") and their data file (cskit/data/answers.toml):

1. **Questions.**  A buyer message is a question when one of its clauses is
   (:mod:`cskit.text.lost`'s question test: ``?``, 吗/呢 endings, question words,
   包不包邮 forms …); its question text is those clauses.
2. **Grouping key.**  The question text is normalised (NFKC, lower case; greetings and
   particles such as 亲/您好/请问 stripped; emoji, punctuation and symbols removed; every
   number run becomes ``#``), segmented by jieba and reduced to the *sorted set of its
   content tokens* (stop words and topic-less single characters dropped, synonyms mapped
   to one word).  Two questions are in the same group when their keys are equal: an exact
   key, so grouping is one hash per distinct text (never a comparison of pairs) and a
   supervisor can read the key and see why.
3. **Pairs.**  A question's answer is the first human agent message after it on the same
   buyer-day that is not only a greeting or holding reply (``answer.fillers``: 亲，在的;
   好的亲，稍等哦), provided no other buyer question came between (then the later question
   is the one answered).  Per buyer-day and group only the first pair counts.
   ``wait_s`` = answer time − question time; ``follow_up``: the buyer's next message that
   day after the answer is itself a question.
4. **Answer key.**  An answer is normalised like a question (no segmentation): its key is
   the remaining text, so 亲，48小时内发货哦~ and 48小时内发货 are the same answer.
5. **Outcome.**  Only pre-sale questions count: the pair's buyer-day must be an inquiry
   buyer-day (:func:`cskit.metrics.conversion.inquiry_outcomes`).  ``paid`` is 1/0, or
   unknown (NaN) when the attribution window is still open (pending) or the shop's
   orders cannot tell (:mod:`cskit.metrics.coverage`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.text._regex import alternation, as_arrow, normalise

__all__ = ["AnswerRules", "load_answer_rules", "question_keys", "answer_keys", "filler_answers",
           "answer_pairs",
           "answer_table", "faq_table", "PAIR_COLUMNS"]

PAIR_COLUMNS = ["shop", "buyer_id", "date", "agent_id", "question", "q_key", "answer", "a_key",
                "wait_s", "follow_up"]
_DAY = 86400
#: emoji codes such as [微笑] / [表情], <img> placeholders, links
_NOISE = r"\[[^\]]{1,8}\]|<[^>]{1,12}>|https?://\S+"
#: punctuation, symbols (emoji included), separators
_PUNCT = r"[\p{P}\p{S}\p{Z}\s]+"


@dataclass
class AnswerRules:
    strip: list[str] = field(default_factory=list)
    stop_words: frozenset = frozenset()
    keep_single: frozenset = frozenset()
    generic: frozenset = frozenset()
    fillers: list = field(default_factory=list)
    synonyms: dict = field(default_factory=dict)  # variant → canonical word
    min_asks: int = 5
    min_buyers: int = 20
    min_competing: int = 2
    source: str = "packaged"


def load_answer_rules(path: Path | str | None = None) -> AnswerRules:
    """The packaged rules (cskit/data/answers.toml) or those of ``path``."""
    from cskit.errors import UsageError

    if path is None:
        text = resources.files("cskit.data").joinpath("answers.toml").read_text(encoding="utf-8")
        source = "packaged"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError("{path}: cannot read the answer rules ({strerror})", path=path,
                             strerror=exc.strerror or type(exc).__name__)
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("{path}: not valid TOML ({why})", path=path or "answers.toml", why=exc)
    g, b = data.get("grouping", {}), data.get("best", {})
    try:
        syn = {}
        for canon, variants in data.get("synonyms", {}).items():
            for v in variants:
                syn[str(v)] = str(canon)
        rules = AnswerRules(
            strip=sorted((str(w) for w in g.get("strip", [])), key=len, reverse=True),
            stop_words=frozenset(str(w) for w in g.get("stop_words", [])),
            keep_single=frozenset(str(w) for w in g.get("keep_single", [])),
            generic=frozenset(str(w) for w in g.get("generic", [])),
            fillers=sorted((str(w) for w in data.get("answer", {}).get("fillers", [])), key=len,
                           reverse=True),
            synonyms=syn, min_asks=int(g.get("min_asks", 5)),
            min_buyers=int(b.get("min_buyers", 20)), min_competing=int(b.get("min_competing", 2)),
            source=source)
    except (TypeError, ValueError) as exc:
        raise UsageError("{path}: bad answer rules ({why})", path=path or "answers.toml", why=exc)
    if rules.min_buyers < 1 or rules.min_competing < 2 or rules.min_asks < 1:
        raise UsageError("{path}: min_buyers and min_asks must be ≥ 1, min_competing ≥ 2",
                         path=path or "answers.toml")
    return rules


def _clean(arr: pa.Array, rules: AnswerRules) -> pa.Array:
    """NFKC, lower case, greetings/particles of ``strip``, noise and punctuation removed,
    number runs → ``#``."""
    t = normalise(as_arrow(arr))
    t = pc.replace_substring_regex(t, _NOISE, " ")
    if rules.strip:
        t = pc.replace_substring_regex(t, alternation(rules.strip), " ")
    t = pc.replace_substring_regex(t, _PUNCT, " ")
    t = pc.replace_substring_regex(t, r"[0-9]+(?:\.[0-9]+)?", "#")
    return pc.utf8_trim_whitespace(t)


def answer_keys(texts, rules: AnswerRules) -> np.ndarray:
    """The answer key of each text (object array): :func:`_clean` without spaces."""
    t = pc.replace_substring_regex(_clean(texts, rules), r"\s+", "")
    return np.asarray(t.to_pylist(), dtype=object)


def filler_answers(texts, rules: AnswerRules) -> np.ndarray:
    """Per text: is it only a greeting / holding reply (亲，在的; 好的亲，稍等哦)?"""
    t = pc.replace_substring_regex(_clean(texts, rules), r"\s+", "")
    if rules.fillers:
        t = pc.replace_substring_regex(t, alternation(rules.fillers), "")
    return np.asarray(pc.equal(pc.utf8_length(t), 0).to_numpy(zero_copy_only=False), dtype=bool)


def question_keys(texts, rules: AnswerRules) -> tuple[np.ndarray, np.ndarray]:
    """Per text: is it a question, and its grouping key ('' when not a question or when
    nothing but stop words is left).  Work is per distinct text; jieba runs once."""
    from cskit.text.jieba_setup import tokenizer
    from cskit.text.lexicon import load_lost_lexicon
    from cskit.text.lost import _compile, _is_question, split_clauses

    arr = as_arrow(texts)
    n = len(arr)
    keys = np.full(n, "", dtype=object)
    if n == 0:
        return np.zeros(0, dtype=bool), keys
    c = _compile(load_lost_lexicon())
    clauses, parent = split_clauses(arr, c)
    is_q = _is_question(clauses, c) if len(clauses) else np.zeros(0, dtype=bool)
    q = np.zeros(n, dtype=bool)
    q[parent[is_q]] = True
    if not q.any():
        return q, keys
    # the question clauses of each message, joined by spaces
    qc = pd.DataFrame({"m": parent[is_q], "t": clauses.filter(pa.array(is_q)).to_pylist()})
    joined = qc.groupby("m", sort=True)["t"].agg(" ".join)
    cleaned = _clean(pa.array(joined.tolist(), pa.large_string()), rules).to_pylist()
    extra = set(rules.synonyms) | set(rules.synonyms.values()) | \
        {w for w in rules.stop_words if len(w) > 1}
    tok = tokenizer(extra)
    tokens = np.array(tok.lcut("\n".join(s.replace("\n", " ") for s in cleaned), HMM=False),
                      dtype=object)
    is_nl = tokens == "\n"
    owner = np.cumsum(is_nl)
    codes, uniq = pd.factorize(tokens)
    keep_u = np.zeros(len(uniq), dtype=bool)
    mapped = np.empty(len(uniq), dtype=object)
    for i, w in enumerate(uniq.tolist()):  # per distinct token
        w2 = rules.synonyms.get(w, w)
        mapped[i] = w2
        keep_u[i] = bool(w2.strip()) and w2 != "\n" and w2 not in rules.stop_words and \
            (len(w2) > 1 or w2 in rules.keep_single or w2 == "#")
    k = keep_u[codes]
    df = pd.DataFrame({"m": owner[k], "w": mapped[codes[k]]}).drop_duplicates()
    # a key of nothing but generic words (怎么办, 什么意思, 要多久) is no group
    topical = ~df["w"].isin(list(rules.generic)).to_numpy()
    df = df[df["m"].isin(df.loc[topical, "m"].unique())]
    key = df.sort_values(["m", "w"], kind="stable").groupby("m", sort=True)["w"].agg(" ".join)
    rows = joined.index.to_numpy()
    out = np.full(len(joined), "", dtype=object)
    out[key.index.to_numpy()] = key.to_numpy(dtype=object)
    keys[rows] = out
    return q, keys


def _next_after(flag: np.ndarray) -> np.ndarray:
    """For each position i, the first position j > i with ``flag[j]`` (n when none)."""
    n = len(flag)
    at = np.where(flag, np.arange(n), n)
    nxt = np.minimum.accumulate(at[::-1])[::-1] if n else at
    return np.r_[nxt[1:], n]


def answer_pairs(messages: pd.DataFrame, rules: AnswerRules | None = None, since=None,
                 until=None) -> pd.DataFrame:
    """Question/answer pairs of ``messages`` (shop, buyer_id, agent_id, sender, sent_at,
    content), questions dated in ``[since, until]``: :data:`PAIR_COLUMNS`, one row per
    (buyer-day, question group), the first such pair of the day.

    Vectorised: one sort by (shop, buyer, time); "the next agent message", "the next
    question" and "the buyer's next message" are reverse running minima; texts are
    classified once per distinct text."""
    rules = rules or load_answer_rules()
    snd = messages["sender"].astype("string")
    chat = snd.isin(["buyer", "agent"]).to_numpy(dtype=bool, na_value=False)
    m = messages.loc[chat, ["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"]]
    if m.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    shop_c, shops = pd.factorize(m["shop"])
    buy_c, _ = pd.factorize(m["buyer_id"])
    t = pd.to_datetime(m["sent_at"], errors="coerce").to_numpy().astype("datetime64[s]") \
        .astype(np.int64)
    ok = (shop_c >= 0) & (buy_c >= 0) & (t > np.iinfo(np.int64).min)
    g = shop_c.astype(np.int64) * (int(buy_c.max()) + 2) + buy_c
    order = np.lexsort((np.arange(len(m)), t, g))
    order = order[ok[order]]
    g, t = g[order], t[order]
    day = t // _DAY
    is_buyer = (m["sender"].to_numpy(dtype=object)[order] == "buyer")
    enc = pc.dictionary_encode(as_arrow(m["content"].iloc[order].reset_index(drop=True)))
    tcode = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    dist = enc.dictionary
    # an answer is an agent message that is not only a greeting / holding reply
    acodes_all = np.unique(tcode[~is_buyer])
    filler_of = np.zeros(len(dist), dtype=bool)
    if len(acodes_all):
        filler_of[acodes_all] = filler_answers(dist.take(pa.array(acodes_all)), rules)
    is_agent = ~is_buyer & ~filler_of[tcode]
    # questions: only the distinct texts buyers sent
    bcodes = np.unique(tcode[is_buyer])
    q_of = np.zeros(len(dist), dtype=bool)
    qkey_of = np.full(len(dist), "", dtype=object)
    if len(bcodes):
        qq, kk = question_keys(dist.take(pa.array(bcodes)), rules)
        q_of[bcodes], qkey_of[bcodes] = qq, kk
    is_q = is_buyer & q_of[tcode] & (qkey_of[tcode] != "")
    run = np.r_[True, (g[1:] != g[:-1]) | (day[1:] != day[:-1])].cumsum()
    n = len(g)
    q = np.flatnonzero(is_q)
    a = _next_after(is_agent)[q]
    has = a < n
    has[has] = run[a[has]] == run[q[has]]
    nq = _next_after(is_q)[q]
    has &= nq > a  # no later question before the answer
    q, a = q[has], a[has]
    nb = _next_after(is_buyer)[a]
    follow = nb < n
    follow[follow] = (run[nb[follow]] == run[a[follow]]) & is_q[nb[follow]]
    qday = day[q]
    lo = None if since is None else (pd.Timestamp(since).value // 10**9) // _DAY
    hi = None if until is None else (pd.Timestamp(until).value // 10**9) // _DAY
    inside = np.ones(len(q), dtype=bool)
    if lo is not None:
        inside &= qday >= lo
    if hi is not None:
        inside &= qday <= hi
    q, a, follow, qday = q[inside], a[inside], follow[inside], qday[inside]
    # one pair per buyer-day and question group: the first
    qk = qkey_of[tcode[q]]
    first = ~pd.DataFrame({"r": run[q], "k": qk}).duplicated().to_numpy()
    q, a, follow, qday, qk = q[first], a[first], follow[first], qday[first], qk[first]
    # answer keys for the distinct answer texts only
    acodes, ainv = np.unique(tcode[a], return_inverse=True)
    akeys = answer_keys(dist.take(pa.array(acodes)), rules) if len(acodes) else \
        np.zeros(0, dtype=object)
    src = order  # row positions in m
    return pd.DataFrame({
        "shop": np.asarray(shops, dtype=object)[shop_c[src[q]]],
        "buyer_id": m["buyer_id"].to_numpy(dtype=object)[src[q]],
        "date": qday.astype("datetime64[D]").astype(object),
        "agent_id": m["agent_id"].to_numpy(dtype=object)[src[a]],
        "question": m["content"].to_numpy(dtype=object)[src[q]],
        "q_key": qk,
        "answer": m["content"].to_numpy(dtype=object)[src[a]],
        "a_key": akeys[ainv.ravel()],
        "wait_s": (t[a] - t[q]).astype(float),
        "follow_up": follow.astype(bool),
    })


def _mode(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """The most frequent ``value`` per ``by`` group (ties: the smallest value), and its count."""
    cnt = frame.groupby(by + [value], sort=False, dropna=False).size().rename("_n").reset_index()
    cnt = cnt.sort_values(by + ["_n", value], ascending=[True] * len(by) + [False, True],
                          kind="stable")
    return cnt.drop_duplicates(by).reset_index(drop=True)


def _mask(s: pd.Series) -> pd.Series:
    from cskit.text.lost import _QUOTE_MASK

    return s.astype(str).str.replace(_QUOTE_MASK, "***", regex=True)


TABLE_COLUMNS = ["shop", "rank", "question", "asks", "agent_id", "answer", "answers", "buyers",
                 "known", "paid", "conversion", "follow_up_rate", "median_wait_s", "best",
                 "q_key"]


def answer_table(pairs: pd.DataFrame, outcomes: pd.DataFrame, rules: AnswerRules | None = None,
                 *, top: int | None = 10, unknown_shops=()) -> pd.DataFrame:
    """One row per (shop, frequent question group, agent): the agent's typical answer and
    the outcome of the buyer-days that received it (:data:`TABLE_COLUMNS`).

    ``outcomes``: inquiry buyer-days (shop, buyer_id, date, paid, pending); pairs on other
    buyer-days (after-sale, unserved) are not pre-sale questions and are left out.
    ``unknown_shops``: shops whose orders cannot tell who bought: their conversion is NaN.
    Groups: asked on ≥ ``min_asks`` buyer-days, the ``top`` most asked per shop."""
    rules = rules or load_answer_rules()
    if pairs.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    key = ["shop", "buyer_id", "date"]
    o = outcomes[key + ["paid", "pending"]].drop_duplicates(key)
    p = pairs.merge(o, on=key, how="inner")
    if p.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    known = ~p["pending"].to_numpy(dtype=bool) & ~p["shop"].isin(list(unknown_shops)).to_numpy()
    p["known"] = known
    p["paid"] = np.where(known, p["paid"].to_numpy(dtype=float), np.nan)
    gk = ["shop", "q_key"]
    asks = p.groupby(gk, sort=False).size().rename("asks").reset_index()
    asks = asks[asks["asks"] >= rules.min_asks]
    asks = asks.sort_values(["shop", "asks", "q_key"], ascending=[True, False, True],
                            kind="stable")
    asks["rank"] = asks.groupby("shop", sort=False).cumcount() + 1
    if top:
        asks = asks[asks["rank"] <= top]
    p = p.merge(asks, on=gk, how="inner")
    if p.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    wording = _mode(p, gk, "question").rename(columns={"question": "q_text"})[gk + ["q_text"]]
    ak = gk + ["agent_id"]
    typical = _mode(p, ak, "a_key")[ak + ["a_key"]]
    total = p.groupby(ak, sort=False).size().rename("answers").reset_index()
    got = p.merge(typical, on=ak + ["a_key"], how="inner")
    shown = _mode(got, ak, "answer")[ak + ["answer"]]
    agg = got.groupby(ak, sort=False).agg(buyers=("buyer_id", "size"), known=("known", "sum"),
                                          paid=("paid", "sum"), follow=("follow_up", "mean"),
                                          wait=("wait_s", "median")).reset_index()
    out = asks.merge(wording, on=gk).merge(total, on=gk).merge(agg, on=ak).merge(shown, on=ak)
    out["known"] = out["known"].astype(int)
    out["paid"] = np.where(out["known"] > 0, out["paid"], np.nan)
    out["conversion"] = np.where(out["known"] > 0, out["paid"] / out["known"].where(
        out["known"] > 0, 1), np.nan)
    out = out.rename(columns={"follow": "follow_up_rate", "wait": "median_wait_s"})
    out["question"] = _mask(out["q_text"])
    out["answer"] = _mask(out["answer"])
    out["best"] = _best(out, rules)
    out = out.sort_values(["shop", "rank", "best", "conversion", "buyers", "agent_id"],
                          ascending=[True, True, False, False, False, True],
                          na_position="last", kind="stable")
    return out[TABLE_COLUMNS].reset_index(drop=True)


def _best(t: pd.DataFrame, rules: AnswerRules) -> np.ndarray:
    """The best answer of each group: among answers with ≥ ``min_buyers`` buyer-days of
    known outcome, when there are ≥ ``min_competing`` of them: the highest conversion,
    ties by the lower follow-up rate, then more buyers, then the agent id."""
    ok = (t["known"] >= rules.min_buyers) & t["conversion"].notna()
    c = t[ok]
    n = c.groupby(["shop", "q_key"])["agent_id"].transform("size")
    c = c[n >= rules.min_competing]
    c = c.sort_values(["shop", "q_key", "conversion", "follow_up_rate", "known", "agent_id"],
                      ascending=[True, True, False, True, False, True], kind="stable")
    win = c.drop_duplicates(["shop", "q_key"]).index
    best = np.zeros(len(t), dtype=bool)
    best[t.index.get_indexer(win)] = True
    return best


FAQ_COLUMNS = ["shop", "rank", "question", "asks", "answer", "agent_id", "buyers", "known",
               "conversion", "follow_up_rate", "median_wait_s", "competing", "next_conversion",
               "status", "q_key"]


def faq_table(table: pd.DataFrame, rules: AnswerRules | None = None) -> pd.DataFrame:
    """One row per question group of :func:`answer_table`: the best answer and its numbers,
    the number of competing answers (≥ ``min_buyers`` known), the runner-up's conversion;
    ``status`` = ``best`` or why none is claimed (``too_few`` competing answers large
    enough, ``unknown`` conversion)."""
    rules = rules or load_answer_rules()
    if table.empty:
        return pd.DataFrame(columns=FAQ_COLUMNS)
    gk = ["shop", "q_key"]
    t = table.copy()
    big = (t["known"] >= rules.min_buyers) & t["conversion"].notna()
    t["_big"] = big
    comp = t.groupby(gk, sort=False)["_big"].sum().rename("competing").reset_index()
    head = t.drop_duplicates(gk)[["shop", "rank", "question", "asks", "q_key"]]
    best = t[t["best"].astype(bool)][gk + ["answer", "agent_id", "buyers", "known", "conversion",
                                          "follow_up_rate", "median_wait_s"]]
    second = t[big & ~t["best"].astype(bool)].sort_values(
        gk + ["conversion"], ascending=[True, True, False]).drop_duplicates(gk)
    second = second[gk + ["conversion"]].rename(columns={"conversion": "next_conversion"})
    out = head.merge(comp, on=gk).merge(best, on=gk, how="left").merge(second, on=gk, how="left")
    any_known = t.groupby(gk, sort=False)["known"].sum().rename("_k").reset_index()
    out = out.merge(any_known, on=gk)
    out["status"] = np.where(out["answer"].notna(), "best",
                             np.where(out["_k"] > 0, "too_few", "unknown"))
    out.loc[out["status"] != "best", "next_conversion"] = np.nan
    out["competing"] = out["competing"].astype(int)
    return out.sort_values(["shop", "rank"], kind="stable")[FAQ_COLUMNS].reset_index(drop=True)


def faq_markdown(faq: pd.DataFrame, rules: AnswerRules, *, title: str, lang: str = "zh") -> str:
    """The FAQ draft as Markdown: per question its typical wording and the best answer with
    its numbers, or why none is claimed; the minimum-size rule stated once."""
    from cskit.i18n import tr
    from cskit.naming import agent_name

    def pct(v) -> str:
        return "—" if pd.isna(v) else f"{100 * float(v):.1f}%"

    def line(s) -> str:  # one Markdown line, no markup from the data
        return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", " ".join(str(s).split()))

    out = [f"# {line(title)}", "",
           tr("A best answer is claimed only when at least {k} different answers to the question were "
              "each received by at least {n} buyer-days whose outcome is known; the best has the "
              "highest conversion (ties: the lower follow-up rate).", lang,
              k=rules.min_competing, n=rules.min_buyers), ""]
    for shop, part in faq.groupby("shop", sort=False):
        out += [f"## {line(shop)}", ""]
        for r in part.itertuples(index=False):
            out.append(f"### {int(r.rank)}. {line(r.question)}")
            out.append("")
            out.append(tr("Asked on {n} buyer-days; grouped by the words: {key}", lang,
                          n=int(r.asks), key=line(r.q_key)))
            out.append("")
            if r.status == "best":
                out.append(f"> {line(r.answer)}")
                out.append("")
                out.append(tr("{agent}: {buyers} buyer-days ({known} with known outcome), "
                              "conversion {conv}, follow-up questions {follow}, median reply "
                              "{wait} s; next best conversion {next} ({k} competing answers)",
                              lang, agent=line(agent_name(shop, r.agent_id)), buyers=int(r.buyers),
                              known=int(r.known), conv=pct(r.conversion),
                              follow=pct(r.follow_up_rate),
                              wait="—" if pd.isna(r.median_wait_s) else f"{r.median_wait_s:.0f}",
                              next=pct(r.next_conversion), k=int(r.competing)))
            elif r.status == "unknown":
                out.append(tr("No best answer: whether the buyers bought is unknown.", lang))
            else:
                out.append(tr("No best answer claimed: {k} answer(s) with at least {n} buyer-days "
                              "of known outcome (at least {m} needed).", lang,
                              k=int(r.competing), n=rules.min_buyers, m=rules.min_competing))
            out.append("")
    return "\n".join(out).rstrip() + "\n"
