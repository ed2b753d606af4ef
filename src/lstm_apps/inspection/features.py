"""Simple features of an input, one value per step, that a cell may have learned to track
(Karpathy, Johnson & Fei-Fei 2015: quotes, brackets, position in the line), and the ranking of
cells by their correlation with each."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPENING, CLOSING = "([{", ")]}"


def text_features(steps: list[str]) -> dict[str, np.ndarray]:
    """Per step (the pieces of a text, in order; joined they are the text), the value at the
    step's first character of: ``inside_quotes`` (after an opening ``"`` and up to its closing one),
    ``inside_brackets`` and ``bracket_depth`` (round, square and curly), ``position_in_line``
    (characters since the line began) and ``indentation`` (leading spaces of the line)."""
    text = "".join(steps)
    if not text:
        return {}
    quotes = np.zeros(len(text))
    depth = np.zeros(len(text))
    column = np.zeros(len(text))
    indent = np.zeros(len(text))
    inside, level, begin = False, 0, 0
    for line in text.split("\n"):
        end = min(begin + len(line) + 1, len(text))  # the line and its newline
        column[begin:end] = np.arange(end - begin)
        indent[begin:end] = len(line) - len(line.lstrip(" \t"))
        begin = end
    for i, char in enumerate(text):
        if char == '"':
            inside = not inside
        if char in OPENING:
            level += 1
        quotes[i], depth[i] = inside, level
        if char in CLOSING:
            level = max(level - 1, 0)
    firsts = np.cumsum([0] + [len(s) for s in steps[:-1]]).clip(max=len(text) - 1).astype(int)
    return {
        "inside_quotes": quotes[firsts],
        "inside_brackets": (depth[firsts] > 0).astype(float),
        "bracket_depth": depth[firsts],
        "position_in_line": column[firsts],
        "indentation": indent[firsts],
    }


@dataclass
class Correlated:
    feature: str
    cell: str  # "layer1 c[17]"
    r: float


def correlations(values: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Pearson's r of each column of ``values`` ``[T, U]`` with ``features`` ``[T]`` (0 for a constant column)."""
    values = values - values.mean(0, keepdims=True)
    features = features - features.mean()
    scale = np.sqrt((values**2).sum(0) * (features**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (values * features[:, None]).sum(0) / scale
    return np.nan_to_num(r)


def chance_level(cells: int, steps: int) -> float:
    """About the largest |r| the best of ``cells`` unrelated cells reaches over ``steps`` steps by
    chance alone (the maximum of that many |N(0, 1/steps)|): a best cell near it tracks nothing."""
    return float(min(1.0, np.sqrt(2 * np.log(2 * max(cells, 1)) / max(steps, 1))))


def rank_cells(
    cells: dict[str, np.ndarray], features: dict[str, np.ndarray], top: int
) -> dict[str, list[Correlated]]:
    """Per feature that varies over the input, the ``top`` cells by ``|r|`` over the steps both
    cover and the feature applies to (not NaN); ``cells`` maps a name such as ``layer1 c`` to its
    values ``[T, units]``."""
    names = [f"{group}[{unit}]" for group, values in cells.items() for unit in range(values.shape[1])]
    matrix = np.concatenate([values for values in cells.values()], axis=1)
    ranked: dict[str, list[Correlated]] = {}
    for feature, series in features.items():
        steps = min(len(series), matrix.shape[0])  # the steps both cover
        series = np.asarray(series[:steps], dtype=float)
        kept = np.isfinite(series)  # a feature says NaN where it does not apply
        if kept.sum() < 3 or np.ptp(series[kept]) == 0:
            continue
        r = correlations(matrix[:steps][kept], series[kept])
        best = np.argsort(-np.abs(r))[:top]
        ranked[feature] = [Correlated(feature, names[i], float(r[i])) for i in best]
    return ranked
