"""How far around a buyer message the reply metrics look: fixed, whatever range is asked.

A per-agent number must not depend on how many days around the range a command happens
to read (issue 12, point 5), so every look-around of the reply metrics is bounded by a
constant, and every command reads at least that much around its range:

* **lead-in** (:data:`ATTRIBUTION_LEAD_DAYS`): an unanswered buyer message is attributed
  to the agent who last sent the buyer a human message on the message's day or in the
  ``ATTRIBUTION_LEAD_DAYS`` calendar days before it (else 未分配).  A ``jd`` session (a
  conversation) is continued by a buyer message of the same conversation in the same
  window; a longer silence opens a new session.
* **reply horizon** (:data:`REPLY_HORIZON_DAYS`): a reply is an agent message on the
  buyer message's day or the ``REPLY_HORIZON_DAYS`` calendar days after it; a later one
  does not answer it (the message is unanswered).

Commands read ``ATTRIBUTION_LEAD_DAYS`` days before ``--since`` and
``REPLY_HORIZON_DAYS`` days after ``--until`` (:data:`cskit.kpi.REPLY_SLACK`), so a
buyer-day gets the same verdict and agent in a one-day, one-week or whole-store read.
docs/metrics.md, "Attribution to agents", documents both.
"""

from __future__ import annotations

import numpy as np

#: calendar days before a buyer message's day in which its last agent is looked for
ATTRIBUTION_LEAD_DAYS = 3
#: calendar days after a buyer message's day in which its reply is looked for
REPLY_HORIZON_DAYS = 2


def within_lead(prev_day: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether an earlier message dated ``prev_day`` is inside the lead-in of ``day``."""
    return prev_day >= day - ATTRIBUTION_LEAD_DAYS


def within_horizon(reply_day: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether a later message dated ``reply_day`` can answer a buyer message of ``day``."""
    return reply_day <= day + REPLY_HORIZON_DAYS
