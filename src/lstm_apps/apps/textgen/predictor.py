"""``lstm-apps predict`` for textgen: continue a prompt, sampled or greedy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from annotated_types import Gt, Le

from lstm_apps.apps.textgen.model import LanguageModel
from lstm_apps.bounds import Count, Positive, PositiveReal, Seed
from lstm_apps.pipeline.predictor import Prediction, Predictor
from lstm_apps.text.tokenizer import CharTokenizer, fitted, token_pieces


@dataclass
class TextgenOptions:
    """The options of ``configs/predict/textgen.yaml``."""

    prompt: str = ""
    max_new_tokens: Positive = 200
    num_samples: Positive = 1
    greedy: bool = False
    temperature: PositiveReal = 1.0
    top_k: Count = 0
    top_p: Annotated[float, Gt(0), Le(1)] = 1.0
    seed: Seed | None = None


class TextgenPredictor(Predictor[LanguageModel, TextgenOptions]):
    """Prints the prompt and its continuation, samples separated by a blank line. One batched
    call of the model: generation is a loop over tokens, not over inputs."""

    options_type = TextgenOptions
    main_input = "prompt"
    inside_view = True
    inspection_options: ClassVar[dict[str, Any]] = {"max_new_tokens": 1}

    def predict(self) -> Prediction:
        options = self.options
        prompt = options.prompt or ""
        samples = self.model.generate(
            prompt,
            options.max_new_tokens,
            greedy=options.greedy,
            temperature=options.temperature,
            top_k=options.top_k,
            top_p=options.top_p,
            seed=options.seed,
            num_samples=options.num_samples,
        )
        return Prediction("\n\n".join(self.model.join(prompt, sample) for sample in samples))

    def inspection_steps(self, prediction: Prediction) -> list[str] | None:
        """The prompt's tokens, each as the text it stands for: a char model's characters as
        written (an unknown one too), in the order the model reads them."""
        tokenizer = fitted(self.model.tokenizer, "bind_fitted_state()")
        prompt = self.options.prompt or ""
        if isinstance(tokenizer, CharTokenizer) and prompt:
            return list(prompt[::-1] if self.model.reverse else prompt)
        return token_pieces(tokenizer, self.model.prompt_ids(prompt))


PREDICTOR = TextgenPredictor
