"""cskit.text.lost is split by idea (scorer / conversation rules / classify and lists):
every name callers use stays importable from cskit.text.lost as the same object, and each
module stays a size a reader can hold."""


import cskit.text.lost as lost
import cskit.text.lost_grammar as grammar
import cskit.text.lost_scoring as scoring
from tests.modules import assert_one_idea


def test_names_reexported_from_lost():
    for name in ("score_texts", "split_clauses", "MEMO_MAX", "_compile", "_Compiled",
                 "_scores_of", "_message_scores", "_is_question", "_clause_scores", "_lookup"):
        assert getattr(lost, name) is getattr(scoring, name), name
    for name in ("presale_days", "_agent_context", "_take_over"):
        assert getattr(lost, name) is getattr(grammar, name), name
    for name in lost.__all__:
        assert hasattr(lost, name), name
    assert lost._NOT_A_QUOTE is not None and lost._QUOTE_MASK is not None


def test_modules_are_split_by_idea():
    # the scorer lives in lost_scoring, the conversation rules in lost_grammar
    assert scoring.score_texts.__module__ == "cskit.text.lost_scoring"
    assert grammar.presale_days.__module__ == "cskit.text.lost_grammar"
    for mod in (lost, scoring, grammar):
        assert_one_idea(mod)
