"""Chat-text analysis (issue #5): lost-sale reasons and quality inspection.

* :mod:`cskit.text.jieba_setup` — one lazily initialised, silent jieba tokenizer
  with the domain user dictionary (``cskit/data/userdict.txt``).
* :mod:`cskit.text.lexicon` — the lexicons are data (``cskit/data/lost_reasons.toml``,
  ``cskit/data/qc_rules.toml``), loaded and validated here.
* :mod:`cskit.text.lost` — :func:`classify`, :func:`reason_summary`, :func:`examples`.
* :mod:`cskit.text.qc` — :func:`inspect`, :func:`qc_summary`.

See docs/text.md.
"""

from cskit.text.lexicon import LostLexicon, QCRules, load_lost_lexicon, load_qc_rules
from cskit.text.lost import classify, examples, reason_summary
from cskit.text.qc import inspect, qc_summary

__all__ = ["classify", "reason_summary", "examples", "inspect", "qc_summary", "LostLexicon",
           "QCRules", "load_lost_lexicon", "load_qc_rules"]
