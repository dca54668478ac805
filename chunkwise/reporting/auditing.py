"""audit(): how token-efficient a document store is, measured without changing it.

For every measured document: tokens, Unicode damage (what ``normalize`` would fix; whitespace
and line endings are counted apart as formatting, not damage), what ``chunkwise prepare STORE``
would remove (chunks that repeat an earlier chunk exactly, the only dedup a store run does),
what ``dedup`` in ``prepare()`` would remove and why, and the tokens naive windows would spend
on it. A store
too large to tokenize whole is measured on a seeded random ``sample`` of documents and
scaled up with a ratio estimator whose auxiliary variable is a cheap token *prediction*
from character counts per script (:class:`TokenEstimator`, calibrated on the sample, its
error measured on held-out sampled documents); intervals come from a bootstrap over
documents. Duplicates are found within the measured documents only, so on a sample the
duplication rate is a lower bound.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._types import Document, as_documents
from ..errors import ConfigError, InputDataError
from .._options import resolve_tokenizer, stage_config
from ..chunking.chunker import ChunkConfig
from ..duplicates.removal import dedup as run_dedup, DedupConfig
from ..text.normalization import normalize as run_normalize, NormalizeConfig
from .scenarios import ReportConfig, resolve, scenario
from .html import render_audit
from ..tokens import content_budget

#: Character classes the predictive estimate counts separately; "other" is the rest.
SCRIPT_CLASSES: Mapping[str, str] = {
    "latin": r"\p{Latin}+",
    "han": r"\p{Han}+",
    "kana_hangul": r"[\p{Hiragana}\p{Katakana}\p{Hangul}]+",
    "cyrillic": r"\p{Cyrillic}+",
    "greek": r"\p{Greek}+",
    "arabic_hebrew": r"[\p{Arabic}\p{Hebrew}]+",
    "indic": r"[\p{Devanagari}\p{Bengali}\p{Gurmukhi}\p{Gujarati}\p{Oriya}\p{Tamil}\p{Telugu}\p{Kannada}\p{Malayalam}\p{Sinhala}]+",
    "thai_lao_khmer": r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]+",
    "digit": r"\p{Nd}+",
    "space": r"\s+",
    "punct_symbol": r"[\p{P}\p{S}]+",
}
CLASS_NAMES: tuple[str, ...] = (*SCRIPT_CLASSES, "other")

# Tokens per character used only for a class the calibration sample has (almost) no
# characters of; rough magnitudes for BPE tokenizers, stated in the estimator's output.
PRIOR_TOKENS_PER_CHAR: Mapping[str, float] = {
    "latin": 0.25, "han": 1.0, "kana_hangul": 1.0, "cyrillic": 0.4, "greek": 0.5, "arabic_hebrew": 0.5,
    "indic": 1.0, "thai_lao_khmer": 0.5, "digit": 0.4, "space": 0.2, "punct_symbol": 0.6, "other": 1.0,
}
#: A class needs this many calibration characters before its coefficient is fitted.
MIN_CLASS_CHARS = 200

#: normalize() categories that change layout, not broken text: counted, never as damage. Inner
#: whitespace runs are aligned code or tables as often as they are mistakes.
FORMATTING_CATEGORIES = frozenset({"whitespace", "line_endings"})


def script_counts(texts: Sequence[str]) -> np.ndarray:
    """Characters per class (columns in :data:`CLASS_NAMES` order) for each text: one regex scan per class."""
    import regex

    patterns = [regex.compile(p) for p in SCRIPT_CLASSES.values()]
    counts = np.zeros((len(texts), len(CLASS_NAMES)), dtype=np.int64)
    for row, text in enumerate(texts):
        total = 0
        for column, pattern in enumerate(patterns):
            n = sum(len(run) for run in pattern.findall(text))
            counts[row, column] = n
            total += n
        counts[row, -1] = max(0, len(text) - total)
    return counts


def _nonnegative_lstsq(features: np.ndarray, target: np.ndarray) -> np.ndarray:
    """min ||features @ x - target|| subject to x >= 0: Lawson and Hanson's active-set method.

    (Solving Least Squares Problems, 1974, ch. 23.) Written here rather than taken from
    scipy.optimize.nnls because scipy is not a dependency of the core install and the
    problems are tiny (a column per script class). It replaced a heuristic that dropped
    the most negative column and re-solved, which can stop at a worse fit than the optimum.
    """
    features = np.asarray(features, dtype=float)
    target = np.asarray(target, dtype=float)
    columns = features.shape[1]
    x = np.zeros(columns)
    passive = np.zeros(columns, dtype=bool)
    tolerance = 10 * np.finfo(float).eps * max(features.shape) * max(np.abs(features).sum(axis=0).max(initial=0.0), 1.0)
    gradient = features.T @ (target - features @ x)
    for _ in range(3 * columns + 1):
        free = ~passive & (gradient > tolerance)
        if not free.any():
            break
        passive[int(np.argmax(np.where(free, gradient, -np.inf)))] = True
        while True:
            trial = np.zeros(columns)
            trial[passive] = np.linalg.lstsq(features[:, passive], target, rcond=None)[0]
            if (trial[passive] > tolerance).all():
                x = trial
                break
            # Step from x towards the trial solution until a passive coefficient reaches 0; drop it.
            blocking = passive & (trial <= tolerance)
            step = np.min(x[blocking] / np.maximum(x[blocking] - trial[blocking], tolerance))
            x = x + step * (trial - x)
            passive &= x > tolerance
            x[~passive] = 0.0
            if not passive.any():
                break
        gradient = features.T @ (target - features @ x)
    return np.maximum(x, 0.0)


@dataclass(frozen=True)
class TokenEstimator:
    """Predicts a text's token count from its characters per script class, for one tokenizer.

    ``tokens ~= sum over classes of tokens_per_char[class] x chars[class]``, fitted by
    non-negative least squares on calibration documents; classes with fewer than
    :data:`MIN_CLASS_CHARS` calibration characters use :data:`PRIOR_TOKENS_PER_CHAR`.
    ``heldout_*`` are errors measured on documents the fit did not see.
    """

    tokenizer: str
    tokens_per_char: Mapping[str, float]
    fitted_classes: tuple[str, ...]
    calibration_documents: int
    heldout_documents: int
    heldout_mean_abs_pct_error: float | None
    heldout_median_abs_pct_error: float | None
    heldout_p90_abs_pct_error: float | None
    heldout_total_pct_error: float | None

    @classmethod
    def fit(cls, texts: Sequence[str], tokens: Sequence[int], *, tokenizer: str, heldout_fraction: float = 0.3,
            seed: int = 0, counts: np.ndarray | None = None) -> TokenEstimator:
        """Fit on ``texts`` with their exact ``tokens``; hold out a seeded fraction to state the error."""
        if len(texts) != len(tokens):
            raise InputDataError(f"{len(texts)} texts but {len(tokens)} token counts")
        if not texts:
            raise InputDataError("no documents to calibrate the token estimate on")
        features = script_counts(texts) if counts is None else counts
        target = np.asarray(tokens, dtype=float)
        order = np.random.default_rng(seed).permutation(len(texts))
        held = order[: int(len(texts) * heldout_fraction)] if len(texts) >= 10 else order[:0]
        train = order[len(held):]
        errors: dict[str, float | None] = dict.fromkeys(("mean", "median", "p90", "total"))
        if len(held):
            trial = cls._solve(features[train], target[train])
            predicted = features[held] @ trial
            actual = target[held]
            nonzero = actual > 0
            pct = np.abs(predicted[nonzero] - actual[nonzero]) / actual[nonzero]
            if pct.size:
                errors.update(mean=float(pct.mean()), median=float(np.median(pct)), p90=float(np.percentile(pct, 90)))
            if actual.sum():
                errors["total"] = float((predicted.sum() - actual.sum()) / actual.sum())
        coef = cls._solve(features, target)
        fitted = tuple(name for name, total in zip(CLASS_NAMES, features.sum(axis=0)) if total >= MIN_CLASS_CHARS)
        return cls(tokenizer, dict(zip(CLASS_NAMES, (float(c) for c in coef))), fitted, len(train), len(held),
                   errors["mean"], errors["median"], errors["p90"], errors["total"])

    @staticmethod
    def _solve(features: np.ndarray, target: np.ndarray) -> np.ndarray:
        totals = features.sum(axis=0)
        fitted = totals >= MIN_CLASS_CHARS
        prior = np.array([PRIOR_TOKENS_PER_CHAR[name] for name in CLASS_NAMES])
        coef = prior.copy()
        if fitted.any():
            residual = target - features[:, ~fitted] @ prior[~fitted]
            coef[fitted] = _nonnegative_lstsq(features[:, fitted].astype(float), residual)
        return coef

    def coefficients(self) -> np.ndarray:
        return np.array([self.tokens_per_char[name] for name in CLASS_NAMES])

    def predict_counts(self, counts: np.ndarray) -> np.ndarray:
        return counts @ self.coefficients()

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted tokens per text (floats)."""
        return self.predict_counts(script_counts(texts))

    def chars_per_token(self) -> dict[str, float | None]:
        return {name: (1 / value if value > 0 else None) for name, value in self.tokens_per_char.items()}

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["tokens_per_char"] = dict(self.tokens_per_char)
        out["chars_per_token"] = self.chars_per_token()
        out["fitted_classes"] = list(self.fitted_classes)
        out["formula"] = "predicted_tokens = sum over classes of tokens_per_char[class] x chars[class]"
        out["prior_tokens_per_char"] = dict(PRIOR_TOKENS_PER_CHAR)
        return out


@dataclass(frozen=True)
class Estimate:
    """A store-wide figure with its confidence interval (equal to the value when measured exactly)."""

    value: float
    low: float
    high: float
    exact: bool

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        if self.exact:
            return f"{self.value:,.0f}" if abs(self.value) >= 100 else f"{self.value:.4g}"
        return f"{self.value:,.0f} [{self.low:,.0f}, {self.high:,.0f}]" if abs(self.value) >= 100 \
            else f"{self.value:.4g} [{self.low:.4g}, {self.high:.4g}]"


@dataclass(frozen=True)
class AuditReport:
    """What ``audit`` found. Totals are :class:`Estimate` objects; rates are fractions of tokens."""

    documents: int
    measured_documents: int
    sampled: bool
    seed: int
    confidence: float
    tokenizer: str
    max_tokens: int
    naive_overlap: int
    chars: int
    tokens: Estimate
    predicted_tokens: float
    normalized_tokens: Estimate
    deduplicated_tokens: Estimate
    naive_tokens: Estimate
    removed_tokens: Mapping[str, Estimate]
    duplication_rate: Estimate
    overlap_rate: Estimate
    unicode_damage: Mapping[str, Estimate]
    damaged_documents_fraction: Estimate
    tokens_saved_fraction: Estimate
    tokens_saved_vs_naive_fraction: Estimate
    tokens_per_document: Mapping[str, float]
    estimator: TokenEstimator | None
    economics: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())
    # What ``chunkwise prepare STORE`` removes (prepare()'s dedup over the store): the removals' own
    # token counts, as the store run's removed file and report sum them.
    store_removed_tokens: Estimate | None = None
    store_deduplicated_tokens: Estimate | None = None
    store_tokens_saved_fraction: Estimate | None = None
    store_tokens_saved_vs_naive_fraction: Estimate | None = None
    formatting_fixes: Mapping[str, Estimate] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def est(value: Any) -> Any:
            return value.to_dict() if isinstance(value, Estimate) else value

        out: dict[str, Any] = {"schema_version": AUDIT_SCHEMA_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Estimate):
                out[f.name] = value.to_dict()
            elif isinstance(value, Mapping) and f.name in ("removed_tokens", "unicode_damage", "formatting_fixes"):
                out[f.name] = {k: est(v) for k, v in value.items()}
            elif f.name == "estimator":
                out[f.name] = value.to_dict() if value is not None else None
            elif f.name == "economics":
                out[f.name] = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in value.items()} if value else None
            elif isinstance(value, (tuple, Mapping)):
                out[f.name] = list(value) if isinstance(value, tuple) else dict(value)
            else:
                out[f.name] = value
        out["metrics"] = self.metrics()
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **({"indent": 2} | kwargs))

    def metrics(self) -> dict[str, Any] | None:
        """Tokens per request, memory utilization, cost per million tokens, sequence efficiency."""
        if not self.economics:
            return None
        out = {}
        for name in ("as_stored", "cleaned"):
            s = self.economics[name]
            out[name] = {
                "tokens_per_request": s.request_tokens,
                "kv_cache_bytes_per_request": s.kv_cache.bytes,
                "max_concurrent_requests": s.max_concurrent_requests,
                "memory_utilization_kv_block_fill": s.kv_cache.block_fill,
                "api_usd_per_million_input": s.api_cost.usd_per_million_input,
                "self_hosted_usd_per_million_input": s.self_hosted.usd_per_million_input if s.self_hosted else None,
                "sequence_efficiency": {k: getattr(s.padding, k).efficiency for k in ("static", "dynamic", "bucketed")}
                if s.padding is not None else None,
                "usd_per_year": s.api_cost.usd_per_year,
            }
        return out

    def to_html(self, *, title: str = "chunkwise store audit") -> str:
        """A self-contained HTML page (inline SVG, no scripts, every string escaped)."""

        return render_audit(self, title=title)

    def to_text(self) -> str:
        """A terminal summary."""
        how = (f"measured {self.measured_documents:,} of {self.documents:,} documents (seeded sample, seed {self.seed}); "
               f"[{self.confidence:.0%} intervals]" if self.sampled else f"all {self.documents:,} documents measured")
        rows = [
            ("characters", f"{self.chars:,}"),
            ("tokens", str(self.tokens)),
            ("tokens predicted from characters", f"{self.predicted_tokens:,.0f}"),
            ("after normalize", str(self.normalized_tokens)),
        ]
        if self.store_deduplicated_tokens is not None:
            rows += [
                (f"{STORE_RUN}: removed (overlap, duplicates, boilerplate)", str(self.store_removed_tokens)),
                (f"{STORE_RUN}: after dedup", str(self.store_deduplicated_tokens)),
                (f"{STORE_RUN}: tokens saved (normalize + dedup)", _pct(self.store_tokens_saved_fraction)),
                (f"{STORE_RUN}: tokens saved vs naive windows", _pct(self.store_tokens_saved_vs_naive_fraction)),
            ]
        rows += [
            (f"{IN_MEMORY}: after dedup", str(self.deduplicated_tokens)),
            (f"{IN_MEMORY}: duplication rate (of normalized tokens)", _pct(self.duplication_rate)),
            (f"{IN_MEMORY}: overlap rate (stitched window overlap)", _pct(self.overlap_rate)),
            (f"{IN_MEMORY}: tokens saved (normalize + dedup)", _pct(self.tokens_saved_fraction)),
            (f"{IN_MEMORY}: tokens saved vs naive windows", _pct(self.tokens_saved_vs_naive_fraction)),
        ]
        for reason, value in self.removed_tokens.items():
            rows.append((f"{IN_MEMORY}: removed tokens ({reason})", str(value)))
        rows += [(f"in naive {self.max_tokens}-token windows", str(self.naive_tokens)),
                 ("documents with Unicode damage", _pct(self.damaged_documents_fraction))]
        for category, value in self.unicode_damage.items():
            rows.append((f"damage: {category} (count)", str(value)))
        for category, value in self.formatting_fixes.items():
            rows.append((f"formatting, not damage: {category} (count)", str(value)))
        per_doc = self.tokens_per_document
        rows.append(("tokens per document (mean / median / p95 / max)",
                     f"{per_doc['mean']:,.0f} / {per_doc['median']:,.0f} / {per_doc['p95']:,.0f} / {per_doc['max']:,.0f}"))
        width = max(len(label) for label, _ in rows)
        lines = [f"audit: {how}; tokenizer {self.tokenizer}", ""]
        lines += [f"{label:<{width}}  {value}" for label, value in rows]
        if self.estimator is not None and self.estimator.heldout_mean_abs_pct_error is not None:
            e = self.estimator
            lines.append("")
            lines.append(f"predictive estimate: per-document error on {e.heldout_documents} held-out documents: mean "
                         f"{e.heldout_mean_abs_pct_error:.1%}, median {e.heldout_median_abs_pct_error:.1%}, p90 "
                         f"{e.heldout_p90_abs_pct_error:.1%}; on their total {e.heldout_total_pct_error:+.1%}")
            fitted = ", ".join(f"{name} {1 / e.tokens_per_char[name]:.2f}" for name in e.fitted_classes
                               if e.tokens_per_char[name] > 0)
            lines.append(f"characters per token: {fitted}")
        if self.economics:
            a, c = self.economics["as_stored"], self.economics["cleaned"]
            lines.append("")
            lines.append(f"serving {self.economics['model']} on {self.economics['gpu']}, top-{self.economics['top_k']}, "
                         f"{self.economics['price']} (as of {self.economics['prices_as_of']})")
            lines.append(f"{'':<{width}}  {'as stored':>12}  {'cleaned':>12}")
            for label, left, right in (
                ("tokens per request", f"{a.request_tokens:,}", f"{c.request_tokens:,}"),
                ("KV cache per request (GiB)", f"{a.kv_cache.gib:.3f}", f"{c.kv_cache.gib:.3f}"),
                ("concurrent requests per GPU", f"{a.max_concurrent_requests:,}", f"{c.max_concurrent_requests:,}"),
                ("$ per year (API)", f"{a.api_cost.usd_per_year:,.0f}", f"{c.api_cost.usd_per_year:,.0f}"),
            ):
                lines.append(f"{label:<{width}}  {left:>12}  {right:>12}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


AUDIT_SCHEMA_VERSION = "1"
STORE_RUN = "store run (chunkwise prepare STORE)"
IN_MEMORY = "prepare() in memory"


def _pct(estimate: Estimate) -> str:
    if estimate.exact:
        return f"{estimate.value:.1%}"
    return f"{estimate.value:.1%} [{estimate.low:.1%}, {estimate.high:.1%}]"


class _Bootstrap:
    """Ratio estimates of store totals from per-document measurements, with bootstrap intervals."""

    def __init__(self, population: int, auxiliary_total: float, auxiliary: np.ndarray, *, exact: bool,
                 confidence: float, resamples: int, seed: int) -> None:
        self.population = population
        self.auxiliary_total = auxiliary_total
        self.auxiliary = auxiliary
        self.exact = exact
        self.alpha = (1 - confidence) / 2
        n = len(auxiliary)
        self.index = np.random.default_rng(seed).integers(0, n, size=(resamples, n)) if (n and not exact) else None
        # Sampling without replacement from a finite store: shrink the interval by the fpc.
        self.fpc = math.sqrt(max(0.0, (population - n) / (population - 1))) if population > 1 else 0.0

    def _interval(self, value: float, replicates: np.ndarray) -> Estimate:
        low, high = np.quantile(replicates, [self.alpha, 1 - self.alpha])
        return Estimate(float(value), float(value - (value - low) * self.fpc), float(value + (high - value) * self.fpc), False)

    def total(self, values: np.ndarray) -> Estimate:
        """Store total of a per-document quantity: ``sum(values) / sum(aux) x aux_total`` on a sample."""
        values = np.asarray(values, dtype=float)
        if self.exact:
            return Estimate(float(values.sum()), float(values.sum()), float(values.sum()), True)
        aux = self.auxiliary
        if aux.sum() <= 0:
            mean = values.mean() if len(values) else 0.0
            return Estimate(float(mean * self.population), float(mean * self.population), float(mean * self.population), False)
        value = values.sum() / aux.sum() * self.auxiliary_total
        replicates = values[self.index].sum(axis=1) / np.maximum(aux[self.index].sum(axis=1), 1e-12) * self.auxiliary_total
        return self._interval(value, replicates)

    def ratio(self, numerator: np.ndarray, denominator: np.ndarray) -> Estimate:
        """A store-wide rate ``sum(numerator) / sum(denominator)``."""
        numerator = np.asarray(numerator, dtype=float)
        denominator = np.asarray(denominator, dtype=float)
        value = numerator.sum() / denominator.sum() if denominator.sum() else 0.0
        if self.exact:
            return Estimate(float(value), float(value), float(value), True)
        replicates = numerator[self.index].sum(axis=1) / np.maximum(denominator[self.index].sum(axis=1), 1e-12)
        return self._interval(value, replicates)


def _naive_tokens(tokens: np.ndarray, budget: int, overlap: int) -> np.ndarray:
    """Tokens in naive windows per document: ``T + (windows - 1) x overlap``, windows = ``1 + ceil((T - budget) / step)``."""
    step = budget - overlap
    windows = np.where(tokens > budget, 1 + np.ceil(np.maximum(tokens - budget, 0) / step), np.where(tokens > 0, 1, 0))
    return tokens + np.maximum(windows - 1, 0) * overlap


def audit(
    docs: Iterable[Any] | str | Document | dict,
    *,
    tokenizer: object = None,
    model: str | None = None,
    sample: int | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    resamples: int = 1000,
    max_tokens: int = 512,
    naive_overlap: int | None = None,
    normalize: Any = True,
    dedup: Any = True,
    calibration_documents: int = 2000,
    economics: bool = True,
    report_config: Any = None,
    gpu: str | None = None,
    queries_per_day: float | None = None,
    top_k: int | None = None,
    price: Any = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> AuditReport:
    """Measure a store's token efficiency without changing it; ``sample=n`` measures n seeded random documents.

    ``docs`` are taken as the store's retrievable units (passages or chunks): the
    economics section serves ``top_k`` of them per query, as stored and as they would
    be after normalize + dedup. ``tokenizer``/``model`` as in ``prepare``. Intervals
    are bootstrap percentiles over measured documents (``resamples``, ``seed``), shrunk
    by the finite-population correction; a full measurement has no interval.
    ``progress(stage, done, total)`` is called as documents are measured.
    """
    _check_sampling(sample, confidence, resamples, calibration_documents)
    chunk_config = ChunkConfig(max_tokens=max_tokens, naive_overlap=naive_overlap)
    normalize_config = stage_config(normalize, NormalizeConfig, "normalize")
    dedup_config = stage_config(dedup, DedupConfig, "dedup")
    options = ReportConfig.build(report_config, gpu=gpu, queries_per_day=queries_per_day, top_k=top_k, price=price)
    resolved = resolve(options, model_hint=model) if economics else None
    counter, notes = resolve_tokenizer(tokenizer, model, False)
    notes = list(notes)

    documents = as_documents(docs)
    population = len(documents)
    if population == 0:
        raise InputDataError("audit() got no documents")
    sampled = sample is not None and sample < population
    rng = np.random.default_rng(seed)
    measured_index = np.sort(rng.choice(population, size=sample, replace=False)) if sampled else np.arange(population)
    measured = [documents[i] for i in measured_index]

    # Cheap for every document: characters per script class.
    all_counts = script_counts([d.text for d in documents])
    chars = int(all_counts.sum())
    measured_counts = all_counts[measured_index]

    raw, normalized, kept, removed, store_removed, fixes_per_doc = _measure(measured, counter, normalize_config, dedup_config,
                                                                            progress)
    store_kept = normalized - store_removed
    budget = content_budget(counter, max_tokens)
    naive = _naive_tokens(raw, budget, chunk_config.effective_naive_overlap)

    # The predictive estimate: fit on (up to calibration_documents of) the measured documents.
    calibrate = np.arange(len(measured))
    if len(calibrate) > calibration_documents:
        calibrate = np.sort(np.random.default_rng(seed + 1).choice(len(measured), calibration_documents, replace=False))
    estimator = TokenEstimator.fit([measured[i].text for i in calibrate], raw[calibrate].astype(int).tolist(),
                                   tokenizer=counter.name, seed=seed, counts=measured_counts[calibrate])
    predicted_all = estimator.predict_counts(all_counts)
    predicted_measured = predicted_all[measured_index]
    boot = _Bootstrap(population, float(predicted_all.sum()), predicted_measured, exact=not sampled,
                      confidence=confidence, resamples=resamples, seed=seed)

    categories = sorted({name for fixes in fixes_per_doc for name in fixes})
    counted = {name: np.asarray([fixes.get(name, 0) for fixes in fixes_per_doc], dtype=float) for name in categories}
    damage = {name: values for name, values in counted.items() if name not in FORMATTING_CATEGORIES}
    formatting = {name: values for name, values in counted.items() if name in FORMATTING_CATEGORIES}
    damaged = np.asarray([1.0 if any(name not in FORMATTING_CATEGORIES for name in fixes) else 0.0
                          for fixes in fixes_per_doc])
    duplicate_tokens = sum(removed[r] for r in ("exact", "near", "boilerplate"))
    per_doc = {
        "mean": float(raw.mean()), "median": float(np.median(raw)), "p95": float(np.percentile(raw, 95)), "max": float(raw.max()),
    }
    notes += _method_notes(len(measured) if sampled else None, confidence, resamples, budget, chunk_config.effective_naive_overlap)
    econ = None
    if resolved is not None:
        econ = _audit_economics(raw, store_kept, resolved, options, max_tokens)
        as_stored = econ["as_stored"]
        if resolved.model.max_context and as_stored.request_tokens > resolved.model.max_context:
            notes.append(f"top-{options.top_k} stored units make {as_stored.request_tokens:,}-token requests, beyond "
                         f"{resolved.model.name}'s {resolved.model.max_context:,}-token context: chunk the store first")

    return AuditReport(
        documents=population,
        measured_documents=len(measured),
        sampled=sampled,
        seed=seed,
        confidence=confidence,
        tokenizer=counter.name,
        max_tokens=max_tokens,
        naive_overlap=chunk_config.effective_naive_overlap,
        chars=chars,
        tokens=boot.total(raw),
        predicted_tokens=float(predicted_all.sum()),
        normalized_tokens=boot.total(normalized),
        deduplicated_tokens=boot.total(kept),
        naive_tokens=boot.total(naive),
        removed_tokens={reason: boot.total(values) for reason, values in removed.items() if values.any()},
        duplication_rate=boot.ratio(duplicate_tokens, normalized),
        overlap_rate=boot.ratio(removed["overlap"], normalized),
        unicode_damage={name: boot.total(values) for name, values in damage.items()},
        damaged_documents_fraction=boot.ratio(damaged, np.ones(len(measured))),
        tokens_saved_fraction=boot.ratio(raw - kept, raw),
        tokens_saved_vs_naive_fraction=boot.ratio(naive - kept, naive),
        tokens_per_document=per_doc,
        estimator=estimator,
        economics=econ,
        notes=tuple(notes),
        store_removed_tokens=boot.total(store_removed),
        store_deduplicated_tokens=boot.total(store_kept),
        store_tokens_saved_fraction=boot.ratio(raw - store_kept, raw),
        store_tokens_saved_vs_naive_fraction=boot.ratio(naive - store_kept, naive),
        formatting_fixes={name: boot.total(values) for name, values in formatting.items()},
    )


def _check_sampling(sample: int | None, confidence: float, resamples: int, calibration_documents: int) -> None:
    """The sampling options, each a ConfigError naming it when it is not usable."""
    for name, value in (("resamples", resamples), ("calibration_documents", calibration_documents)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}={value!r} must be a positive integer")
    if not (isinstance(confidence, float) and 0 < confidence < 1):
        raise ConfigError(f"confidence={confidence!r} must be a float in (0, 1), e.g. 0.95")
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, int) or sample < 2):
        raise ConfigError(f"sample={sample!r} must be an integer >= 2 (documents to measure), or None for all")


def _measure(measured: list[Document], counter: Any, normalize_config: Any, dedup_config: Any,
             progress: Callable[[str, int, int], None] | None = None,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray, list[Mapping[str, int]]]:
    """Tokens of each measured document raw, repaired and deduplicated (in memory), the tokens each
    removal reason took, the tokens a store run would remove, and each document's repairs."""
    total = len(measured)

    def step(stage: str, done: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    raw = np.asarray(counter.content_count_batch([d.text for d in measured]), dtype=float)
    repaired: list[Document] = []
    fixes_per_doc: list[Mapping[str, int]] = []
    for position, document in enumerate(measured, start=1):
        step("normalizing", position)
        if normalize_config is None:
            repaired.append(document)
            fixes_per_doc.append({})
            continue
        result = run_normalize(document.text, normalize_config)
        repaired.append(Document(document.id, result.text, document.metadata))
        fixes_per_doc.append(result.fixes)
    normalized = np.asarray(counter.content_count_batch([d.text for d in repaired]), dtype=float) \
        if normalize_config is not None else raw.copy()
    reasons = ("overlap", "exact", "near", "boilerplate")
    removed = {reason: np.zeros(len(measured)) for reason in reasons}
    if dedup_config is not None:
        step("deduplicating", 0)
        deduped = run_dedup(repaired, dedup_config, tokenizer=counter)
        step("deduplicating", total)
        position = {d.id: i for i, d in enumerate(measured)}
        for entry in deduped.removed:
            removed[entry.reason][position[entry.doc_id]] += entry.token_count or 0
        kept = np.asarray(counter.content_count_batch([d.text for d in deduped.documents]), dtype=float)
    else:
        kept = normalized.copy()
    # A store run removes what prepare() removes (the same dedup over the store, in store order):
    # its removed tokens are the removals' own counts, as its removed file sums them.
    store_removed = np.sum([removed[reason] for reason in reasons], axis=0)
    return raw, normalized, kept, removed, store_removed, fixes_per_doc


def _method_notes(sampled: int | None, confidence: float, resamples: int, budget: int, naive_overlap: int) -> list[str]:
    """How the audit's figures are made; ``sampled``: documents measured when a sample, else None."""
    notes = []
    if sampled is not None:
        notes.append(
            f"duplicates are searched within the {sampled:,} measured documents only: on a sample the "
            "duplication rate is a lower bound (a pair counts only when both copies are sampled)"
        )
        notes.append("totals are ratio estimates: measured / predicted on the sample x predicted for the whole store; "
                     f"{confidence:.0%} bootstrap percentile intervals ({resamples} resamples) with finite-population correction")
    notes.append(f"{STORE_RUN} removes what {IN_MEMORY} removes (the same dedup, over the store in store order); "
                 f"its removed tokens are the removals' own counts, {IN_MEMORY}'s 'after dedup' counts the kept text "
                 "(token counts are not additive at the seams, so the two can differ slightly)")
    notes.append("whitespace and line-ending fixes are formatting (aligned code, tables), counted but not as damage")
    notes.append(f"naive window tokens per document = T + (windows - 1) x {naive_overlap}, "
                 f"windows = 1 + ceil((T - {budget}) / {budget - naive_overlap}) (formula, not re-tokenized)")
    return notes


def _audit_economics(raw: np.ndarray, store_kept: np.ndarray, resolved: Any, options: Any, max_tokens: int) -> dict[str, Any]:
    """Serving the store's units as stored and as a store run leaves them."""
    stored_lengths = [int(n) for n in raw]
    cleaned_lengths = [int(n) for n in store_kept if n > 0]  # as a store run leaves them
    as_stored = scenario("as stored", stored_lengths, resolved, max_tokens=max_tokens)
    cleaned = scenario("cleaned", cleaned_lengths or [0], resolved, max_tokens=max_tokens)
    return {"model": resolved.model.name, "gpu": resolved.gpu.name, "price": resolved.price.name,
            "prices_as_of": resolved.price.as_of or resolved.catalog.prices_as_of, "top_k": options.top_k,
            "queries_per_day": options.queries_per_day, "as_stored": as_stored, "cleaned": cleaned,
            "assumptions": options.to_dict(), "notes": list(resolved.notes)}


__all__ = ["audit", "AuditReport", "Estimate", "TokenEstimator", "script_counts", "SCRIPT_CLASSES", "CLASS_NAMES"]
