"""Plan a prompt's token budget so retrieved context never crowds out the answer.

``plan_budget`` subtracts the system prompt, the question, a hard cap on
output tokens and a safety margin from the model's context window; what is
left is the ``budget_tokens`` to give ``compress``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, InputTypeError
from ..tokens import get_tokenizer


@dataclass(frozen=True)
class BudgetPlan:
    """How a context window is shared out; ``context_tokens`` is what retrieved passages may use."""

    context_window: int
    system_prompt_tokens: int
    question_tokens: int
    max_output_tokens: int
    safety_margin: int
    context_tokens: int

    def to_dict(self) -> dict[str, int]:
        return {
            "context_window": self.context_window,
            "system_prompt_tokens": self.system_prompt_tokens,
            "question_tokens": self.question_tokens,
            "max_output_tokens": self.max_output_tokens,
            "safety_margin": self.safety_margin,
            "context_tokens": self.context_tokens,
        }


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputTypeError(f"{name} must be an int number of tokens, got {type(value).__name__}")
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}")
    return value


def plan(
    context_window: int,
    *,
    max_output_tokens: int,
    system_prompt_tokens: int | None = None,
    system_prompt: str | None = None,
    question_tokens: int | None = None,
    question: str | None = None,
    tokenizer: Any = None,
    safety_margin: int | float = 0.02,
) -> BudgetPlan:
    """The full ``BudgetPlan``; see ``plan_budget``."""
    context_window = _count("context_window", context_window)
    if context_window == 0:
        raise ConfigError("context_window must be > 0 (the model's total token limit, prompt plus output)")
    max_output_tokens = _count("max_output_tokens", max_output_tokens)
    if max_output_tokens == 0:
        raise ConfigError("max_output_tokens must be > 0: reserve room for the answer (a hard cap you also pass to the model)")
    counter = None

    def counted(name: str, tokens: int | None, text: str | None) -> int:
        nonlocal counter
        if tokens is not None and text is not None:
            raise ConfigError(f"pass {name}_tokens or {name}, not both")
        if tokens is not None:
            return _count(f"{name}_tokens", tokens)
        if text is None:
            return 0
        if not isinstance(text, str):
            raise InputTypeError(f"{name} must be a str, got {type(text).__name__}")
        if counter is None:
            counter = get_tokenizer(tokenizer)
        return counter.count(text)

    system = counted("system_prompt", system_prompt_tokens, system_prompt)
    asked = counted("question", question_tokens, question)
    if isinstance(safety_margin, bool) or not isinstance(safety_margin, (int, float)):
        raise InputTypeError(f"safety_margin must be an int (tokens) or a float fraction, got {type(safety_margin).__name__}")
    if isinstance(safety_margin, float):
        if not 0.0 <= safety_margin < 1.0:
            raise ConfigError(f"a fractional safety_margin must be in [0, 1), got {safety_margin}")
        margin = int(-(-context_window * safety_margin // 1))  # ceil: never plan on a fraction of a token
    else:
        margin = _count("safety_margin", safety_margin)
    left = context_window - system - asked - max_output_tokens - margin
    if left <= 0:
        raise ConfigError(
            f"nothing is left for retrieved context: context_window={context_window} minus system prompt {system}, "
            f"question {asked}, max_output_tokens={max_output_tokens} and safety margin {margin} is {left}; "
            "lower max_output_tokens, shorten the system prompt or use a model with a larger context window"
        )
    return BudgetPlan(context_window, system, asked, max_output_tokens, margin, left)


def plan_budget(
    context_window: int,
    *,
    max_output_tokens: int,
    system_prompt_tokens: int | None = None,
    system_prompt: str | None = None,
    question_tokens: int | None = None,
    question: str | None = None,
    tokenizer: Any = None,
    safety_margin: int | float = 0.02,
) -> int:
    """Tokens left for retrieved context once the prompt's other parts and the answer are reserved.

    Give either ``system_prompt_tokens`` or ``system_prompt`` (counted with
    ``tokenizer``, default cl100k_base; likewise ``question``).
    ``max_output_tokens`` is the hard cap you must also pass to the model, so
    the answer always fits. ``safety_margin`` is tokens (int) or a fraction of
    the window (float, default 2%) for chat-template tokens and tokenizer
    drift. Raises ``ConfigError`` when nothing is left.
    """
    return plan(
        context_window,
        max_output_tokens=max_output_tokens,
        system_prompt_tokens=system_prompt_tokens,
        system_prompt=system_prompt,
        question_tokens=question_tokens,
        question=question,
        tokenizer=tokenizer,
        safety_margin=safety_margin,
    ).context_tokens


__all__ = ["plan_budget", "plan", "BudgetPlan"]
