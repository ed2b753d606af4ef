"""Unknown-word replacement (Luong et al. 2015; OpenNMT's ``-replace_unk``): each ``<unk>`` a
word-level translation produces becomes the source word it attended to most.

A closed word vocabulary has no entry for most names, numbers and rare compounds, and those are
exactly the words a translation usually copies; the attention already points at them.
"""

from __future__ import annotations

import torch

from lstm_apps.text.tokenizer import SPACE_MARK, SPECIAL_TOKENS, UNK, HFWrappedTokenizer, Tokenizer


def source_words(tokenizer: HFWrappedTokenizer, text: str) -> list[str]:
    """The surface form of each source token of ``text``, in the target tokenizer's piece
    notation: the word as written, marked when a space (or the sentence start) comes before it."""
    encoding = tokenizer.hf.encode(text, add_special_tokens=False)
    words = []
    for start, end in encoding.offsets:
        surface = text[start:end]
        spaced = start == 0 or surface[:1].isspace()
        words.append(SPACE_MARK + surface.strip() if spaced else surface.strip())
    return words


def replace_unknown(
    target: Tokenizer,
    source: Tokenizer,
    tokens: list[int],
    attention: torch.Tensor | None,
    source_text: str,
) -> str:
    """``tokens`` decoded with every ``<unk>`` replaced by the source word of highest attention
    (``attention`` ``[len(tokens), S]``); plain decoding where nothing can be replaced: no
    ``<unk>``, no attention, or tokenizers other than reversible word level."""
    if (
        attention is None
        or not isinstance(target, HFWrappedTokenizer)
        or not isinstance(source, HFWrappedTokenizer)
        or not (target.reversible_words and source.reversible_words)
    ):
        return target.decode(tokens)
    unk = target.token_id(UNK)
    words = source_words(source, source_text) if unk in tokens else []
    if not words:
        return target.decode(tokens)
    pieces: list[str] = []
    aligned = attention[:, : len(words)].argmax(dim=-1).tolist()
    specials = {target.token_id(t) for t in SPECIAL_TOKENS}
    for i, token in enumerate(tokens):
        if token == unk:
            pieces.append(words[aligned[i]])
        elif token not in specials:
            pieces.append(target.hf.id_to_token(token) or "")
    return target.join_pieces(pieces)
