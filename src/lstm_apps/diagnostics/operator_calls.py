"""Count the operators a piece of work launches, as torch.profiler records them.

Small recurrent models on a GPU are bound by launches, not arithmetic: every operator the host
dispatches costs a few microseconds whatever its size. Counting top-level operator calls (an
operator called by another one, or an autograd node's inner work, is part of its caller) measures
that cost on any machine, a CPU included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from torch.profiler import ProfilerActivity, profile


def operator_calls(work: Callable[[], object]) -> Counter[str]:
    """Top-level operator calls of one run of ``work``, by name."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        work()
    return Counter(event.name for event in prof.events() if event.cpu_parent is None)
