"""Recurrent language model (text generator): embeddings -> core block -> tied softmax."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lstm_apps.apps.textgen.network import LanguageNetwork
from lstm_apps.bounds import Positive, PositiveReal
from lstm_apps.core.export_graph import ExportGraph, GraphOf, flat_state, state_names
from lstm_apps.core.recurrent import RecurrentState, detach_state
from lstm_apps.pipeline.app_module import AppModule
from lstm_apps.pipeline.running_mean import mean_at, running_mean
from lstm_apps.pipeline.weight_transfer import TransferParts
from lstm_apps.text.tokenizer import Tokenizer, fitted, tokenizer_from_json

SPLITS = ("train", "val", "test")
# The corpora separate documents with a blank line, so it is the natural "start of text".
DOCUMENT_START = "\n\n"


class LanguageModel(AppModule):
    """Trains ``LanguageNetwork`` (``self.net``) with stateful truncated BPTT.

    The hidden state is carried from one batch to the next within an epoch (rows of the stream are
    contiguous) and detached, so gradients flow back ``bptt`` steps while context reaches further.
    ``**settings`` are the network's (``embedding_dim``, ``hidden_size``, ``cell`` …).
    """

    app_name = "textgen"
    network = LanguageNetwork
    fitted_weights = {"tokenizer": ("net.embedding.", "net.decoder.")}
    transfer_parts = TransferParts(embedding="net.embedding", encoder="net.rnn", tokenizer="tokenizer")

    def __init__(
        self,
        vocab_size: int,
        reverse: bool = False,
        sample_prompt: str = "The ",
        sample_tokens: Positive = 200,
        sample_temperature: PositiveReal = 0.8,
        optimizer: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(optimizer=optimizer, scheduler=scheduler)
        self.vocab_size = vocab_size
        self.reverse = reverse  # trained on reversed text: it writes what comes before a prompt
        self.net = LanguageNetwork(vocab_size, **settings)
        self.sample_prompt = sample_prompt
        self.sample_tokens = sample_tokens
        self.sample_temperature = sample_temperature
        self.tokenizer: Tokenizer | None = None
        # Token-weighted mean cross-entropy per split (windows differ in length; DDP-synchronised);
        # ``test_blocks_loss``: the test windows each read from an empty state (see test_step).
        self.mean_loss = nn.ModuleDict({f"{s}_loss": running_mean() for s in (*SPLITS, "test_blocks")})
        self._carried: dict[str, RecurrentState | None] = dict.fromkeys(SPLITS)

    def on_fitted_state(self, state: dict[str, str]) -> None:
        self.tokenizer = tokenizer_from_json(state["tokenizer"])

    def forward(
        self, tokens: torch.Tensor, state: RecurrentState | None = None
    ) -> tuple[torch.Tensor, RecurrentState]:
        """``tokens`` ``[B, T]`` -> logits ``[B, T, V]`` and the final recurrent state."""
        return self.net(tokens, state)

    def export_graphs(self) -> list[ExportGraph]:
        """``step``: token ids ``[B, T]`` and the recurrent state -> logits ``[B, T, V]`` and the
        next state; one token at a time (``T`` = 1) is how a runtime generates."""
        net = self.net
        cells = state_names(net.rnn.cell)
        layers, hidden, vocab = net.rnn.num_layers, net.rnn.hidden_size, net.embedding.num_embeddings

        def step(tokens: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
            logits, after = net(tokens, state if len(state) > 1 else state[0])
            return (logits, *flat_state(after))

        def make_inputs(n: int) -> tuple[torch.Tensor, ...]:
            return (torch.randint(0, vocab, (n, 2)), *[torch.randn(layers, n, hidden) for _ in cells])

        axes = {"tokens": {0: "batch", 1: "time"}, "logits": {0: "batch", 1: "time"}}
        axes.update({name: {1: "batch"} for name in cells} | {f"next_{name}": {1: "batch"} for name in cells})
        return [
            ExportGraph(
                "step",
                GraphOf(net, step),
                make_inputs,
                ["tokens", *cells],
                ["logits", *[f"next_{c}" for c in cells]],
                axes,
            )
        ]

    # -- training / evaluation ----------------------------------------------------------------
    def _stream_loss(self, batch: tuple[torch.Tensor, torch.Tensor], split: str) -> torch.Tensor:
        inputs, targets = batch
        state = self._carried[split]
        if state is not None and _state_batch(state) != inputs.size(0):
            state = None
        logits, state = self(inputs, state)
        self._carried[split] = detach_state(state)
        return self._window_loss(logits, targets, f"{split}_loss")

    def _window_loss(self, logits: torch.Tensor, targets: torch.Tensor, mean: str) -> torch.Tensor:
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))
        # The weight made on the device (a fill), not from a Python int: that would be a blocking copy.
        value = loss.detach()
        mean_at(self.mean_loss, mean).update(value, torch.full_like(value, targets.numel()))
        return loss

    def _reset(self, split: str) -> None:
        self._carried[split] = None
        mean_at(self.mean_loss, f"{split}_loss").reset()

    def _log_epoch(self, split: str) -> None:
        # compute() already reduced over processes; sync_dist only tells Lightning so (cheap, once).
        loss = mean_at(self.mean_loss, f"{split}_loss").compute()
        self.log(f"{split}/loss_epoch" if split == "train" else f"{split}/loss", loss, sync_dist=True)
        self.log(f"{split}/ppl", torch.exp(loss), prog_bar=split == "val", sync_dist=True)
        mean_at(self.mean_loss, f"{split}_loss").reset()

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        self._reset("train")

    def inspection_loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """A window's loss from an empty state, neither carried state nor running mean touched."""
        inputs, targets = batch
        logits, _ = self(inputs)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self._stream_loss(batch, "train")
        self.log_training(batch[0].size(0), loss=loss)
        return loss

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_start(self) -> None:
        self._reset("val")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._stream_loss(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def on_test_epoch_start(self) -> None:
        self._reset("test")
        mean_at(self.mean_loss, "test_blocks_loss").reset()

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        """``test/loss`` reads the test text as one stream, the state carried across windows;
        ``test/loss_blocks`` reads each ``data.bptt``-token window from an empty state, the
        measurement of block models (nanoGPT's val loss with ``block_size`` = ``bptt``), in
        which a position sees only the tokens before it in its own block."""
        self._stream_loss(batch, "test")
        inputs, targets = batch
        self._window_loss(self(inputs)[0], targets, "test_blocks_loss")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")
        blocks = mean_at(self.mean_loss, "test_blocks_loss")
        self.log("test/loss_blocks", blocks.compute(), sync_dist=True)
        blocks.reset()

    # -- generation -----------------------------------------------------------------------------
    @torch.no_grad()
    def decode_batch(
        self,
        batch: tuple[torch.Tensor, torch.Tensor] | torch.Tensor,
        max_new_tokens: int = 20,
        **sampling: Any,
    ) -> torch.Tensor:
        """The app's decoding entry point: new token ids ``[B, max_new_tokens]`` continuing each
        row of a batch's inputs (an ``(inputs, targets)`` window as the loaders make them, or ids
        ``[B, T]``); ``sampling``: ``greedy``, ``temperature``, ``top_k``, ``top_p``, ``generator``."""
        inputs = batch[0] if isinstance(batch, tuple | list) else batch
        return self.net.generate(inputs, max_new_tokens, **sampling)

    @torch.no_grad()
    def generate(
        self, prompt: str = "", max_new_tokens: int = 200, *, num_samples: int = 1, **sampling: Any
    ) -> list[str]:
        """Continue ``prompt`` ``num_samples`` times at once (one batched step per token); a model of
        reversed text writes the text before it (``join`` puts the two in reading order).
        ``sampling``: ``generate_many``'s ``greedy``, ``temperature``, ``top_k``, ``top_p``, ``seed``."""
        return self.generate_many([prompt] * num_samples, max_new_tokens, **sampling)

    @torch.no_grad()
    def generate_many(
        self,
        prompts: list[str],
        max_new_tokens: int = 200,
        *,
        greedy: bool = False,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> list[str]:
        """Continue each of ``prompts`` in one batch: prompts of different lengths are right-padded
        and read packed, so each row continues from its own last token."""
        tokenizer = fitted(self.tokenizer, "bind_fitted_state()")
        with self.evaluating():
            rows = [self.prompt_ids(prompt) for prompt in prompts]
            longest = max(len(row) for row in rows)
            tokens = torch.tensor([row + [0] * (longest - len(row)) for row in rows], device=self.device)
            lengths = (
                None if all(len(row) == longest for row in rows) else torch.tensor([len(r) for r in rows])
            )
            new_ids = self.net.generate(
                tokens,
                max_new_tokens,
                lengths=lengths,
                greedy=greedy,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                generator=self._generator(seed),
            )
        return [tokenizer.decode(ids[::-1] if self.reverse else ids) for ids in new_ids.tolist()]

    def stream(
        self,
        prompt: str = "",
        max_new_tokens: int = 200,
        *,
        greedy: bool = False,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> Iterator[str]:
        """What ``generate`` writes for ``prompt``, piece by piece as the tokens are sampled (a
        reversed model's pieces go before the text so far). Each piece is the new part of the text
        decoded so far, so tokens that decode to nothing alone (part of a character) wait."""
        tokenizer = fitted(self.tokenizer, "bind_fitted_state()")
        with self.evaluating(), torch.no_grad():
            tokens = torch.tensor([self.prompt_ids(prompt)], device=self.device)
            steps = self.net.generate_steps(
                tokens,
                greedy=greedy,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                generator=self._generator(seed),
            )
            produced: list[int] = []
            shown = ""
            for _ in range(max_new_tokens):
                produced.append(int(next(steps)[0]))
                text = tokenizer.decode(produced[::-1] if self.reverse else produced)
                grown = text.endswith(shown) if self.reverse else text.startswith(shown)
                if not grown or len(text) == len(shown):
                    continue
                piece = text[: len(text) - len(shown)] if self.reverse else text[len(shown) :]
                shown = text
                yield piece

    def prompt_ids(self, prompt: str) -> list[int]:
        """The prompt's token ids in the order the model reads (the document start if empty)."""
        tokenizer = fitted(self.tokenizer, "bind_fitted_state()")
        ids = tokenizer.encode(prompt) or tokenizer.encode(DOCUMENT_START)
        return ids[::-1] if self.reverse else ids

    def _generator(self, seed: int | None) -> torch.Generator | None:
        if seed is None:
            return None
        return torch.Generator(device=self.device).manual_seed(int(seed))

    def join(self, prompt: str, generated: str) -> str:
        """The prompt and what ``generate`` wrote for it, in reading order."""
        return generated + prompt if self.reverse else prompt + generated

    def validation_samples(self) -> dict[str, str]:
        text = self.generate(
            self.sample_prompt, self.sample_tokens, temperature=self.sample_temperature, seed=0
        )[0]
        shown = self.join(self.sample_prompt, text)
        return {"samples/generated": f"**prompt:** `{self.sample_prompt!r}`\n\n```\n{shown}\n```"}


def _state_batch(state: RecurrentState) -> int:
    return (state[0] if isinstance(state, tuple) else state).size(1)
