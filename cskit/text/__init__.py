"""Chat-text analysis (issue #5): lost-sale reasons and quality inspection.

* :mod:`cskit.text.jieba_setup` — one lazily initialised, silent jieba tokenizer
  with the domain user dictionary (``cskit/data/userdict.txt``).
* :mod:`cskit.text.lexicon` — the lexicons are data (``cskit/data/lost_reasons.toml``,
  ``cskit/data/qc_rules.toml``), loaded and validated here.
* :mod:`cskit.text.lost` — :func:`classify`, :func:`reason_summary`, :func:`examples`,
  :func:`lost_list` (every name below re-exported from here); the scorer (lexicon compiled,
  clauses, jieba once per text) in :mod:`cskit.text.lost_scoring`, the conversation rules
  (pre-sale days, agent context, take-over) in :mod:`cskit.text.lost_grammar`, evidence
  quotes in :mod:`cskit.text.lost_quotes`.
* :mod:`cskit.text.qc` — :func:`inspect`, :func:`qc_summary`.

See docs/text.md.
"""

import importlib

#: public name -> the submodule that defines it.  Imported on first use (PEP 562), so that
#: ``cskit.text._regex`` (used by ``cskit kpi`` for closing remarks) does not load the
#: lexicons and classifiers
_LAZY = {"LostLexicon": "lexicon", "QCRules": "lexicon", "load_lost_lexicon": "lexicon",
         "load_qc_rules": "lexicon", "classify": "lost", "examples": "lost",
         "reason_summary": "lost", "inspect": "qc", "qc_summary": "qc"}

__all__ = ["classify", "reason_summary", "examples", "inspect", "qc_summary", "LostLexicon",
           "QCRules", "load_lost_lexicon", "load_qc_rules"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"cskit.text.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cskit.text' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
