"""The intent classifier as a trained, saved and reloaded artefact.

Training: a stratified held-out split (seeded) fits the softmax temperature and measures
accuracy; then the model is retrained on everything, keeping that temperature. The
artefact (``.npz`` arrays + ``.json`` metadata with a format version) is named by a hash
of the training data, feature and training config and code version, so changing any of
them retrains on next load and an unchanged setup loads in milliseconds.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from shopassist.config import user_data_dir
from shopassist.engine.nlu.classifier import TrainConfig, fit_temperature, softmax, train_softmax
from shopassist.engine.nlu.features import FeatureConfig, GramHasher, Vectoriser
from shopassist.engine.nlu.training_data import (
    OUT_OF_SCOPE,
    Example,
    data_fingerprint,
    load_examples,
)

FORMAT_VERSION = 2
# Bump when training or feature code changes in a way that changes the model.
CODE_VERSION = "2026.11.29-2"
HELDOUT_FRACTION = 0.2


@dataclass
class TrainingReport:
    n_examples: int
    n_intents: int
    heldout_accuracy: float
    heldout_size: int
    temperature: float
    seconds: float
    per_language: dict[str, float] = field(default_factory=dict)


class IntentModel:
    def __init__(
        self,
        vectoriser: Vectoriser,
        weights: np.ndarray,
        bias: np.ndarray,
        labels: list[str],
        temperature: float,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.vectoriser = vectoriser
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.labels = labels
        self.temperature = float(temperature)
        self.meta = meta or {}
        self.label_index = {name: i for i, name in enumerate(labels)}

    # -- inference -------------------------------------------------------------------
    def probabilities(self, text: str) -> tuple[np.ndarray, float]:
        """Calibrated class probabilities and the message's word coverage."""
        cols, vals, coverage = self.vectoriser.row(text)
        logits = vals @ self.weights[cols] + self.bias if cols.size else self.bias.copy()
        return softmax(logits / self.temperature), coverage

    def logits_many(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        x, coverage = self.vectoriser.transform(texts)
        return x.dot(self.weights) + self.bias, coverage

    def probabilities_many(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        logits, coverage = self.logits_many(texts)
        return softmax(logits / self.temperature), coverage

    # -- persistence -----------------------------------------------------------------
    def save(self, stem: Path) -> None:
        """Write ``stem.npz`` and ``stem.json`` atomically (temp file + rename)."""
        stem.parent.mkdir(parents=True, exist_ok=True)
        npz_tmp = stem.with_name(stem.name + f".{os.getpid()}.tmp.npz")
        _write_npz(
            npz_tmp,
            {
                "weights": self.weights,
                "bias": self.bias,
                "buckets": self.vectoriser.buckets,
                "col_weight": self.vectoriser.col_weight,
                "word_buckets": np.array(sorted(self.vectoriser.word_buckets), dtype=np.int64),
            },
        )
        meta = dict(self.meta)
        meta.update(
            format_version=FORMAT_VERSION,
            labels=self.labels,
            temperature=self.temperature,
            features=self.vectoriser.config.as_dict(),
        )
        json_tmp = stem.with_name(stem.name + f".{os.getpid()}.tmp.json")
        json_tmp.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(npz_tmp, stem.with_suffix(".npz"))
        os.replace(json_tmp, stem.with_suffix(".json"))

    @classmethod
    def load(cls, stem: Path) -> IntentModel:
        meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"model format {meta.get('format_version')} != {FORMAT_VERSION}")
        f = meta["features"]
        config = FeatureConfig(
            n_bits=int(f["n_bits"]),
            word_ngrams=(int(f["word_ngrams"][0]), int(f["word_ngrams"][1])),
            char_ngrams=(int(f["char_ngrams"][0]), int(f["char_ngrams"][1])),
            word_weight=float(f["word_weight"]),
        )
        with np.load(stem.with_suffix(".npz")) as arrays:
            vec = Vectoriser(
                config, arrays["buckets"], arrays["col_weight"], arrays["word_buckets"]
            )
            return cls(
                vec,
                arrays["weights"],
                arrays["bias"],
                list(meta["labels"]),
                float(meta["temperature"]),
                meta,
            )


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez`` but byte-reproducible: ``np.savez`` stamps each member with the
    current time, so two identical trainings would give different files."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(info, buffer.getvalue())


def model_key(examples: list[Example], features: FeatureConfig, train: TrainConfig) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(data_fingerprint(examples).encode())
    digest.update(json.dumps(features.as_dict(), sort_keys=True).encode())
    digest.update(json.dumps(train.__dict__, sort_keys=True).encode())
    digest.update(CODE_VERSION.encode())
    return digest.hexdigest()


def models_dir() -> Path:
    """``<user data dir>/models``; ``SHOPASSIST_NLU_MODEL_DIR`` overrides it (tests share one
    trained model this way instead of training per test)."""
    override = os.environ.get("SHOPASSIST_NLU_MODEL_DIR")
    if override:
        return Path(override)
    return user_data_dir() / "models"


def stratified_split(
    labels: list[str], fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out): the same share of every label held out, reproducibly."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    train: list[int] = []
    held: list[int] = []
    for label in sorted(by_label):
        idx = np.array(by_label[label])
        rng.shuffle(idx)
        k = int(round(len(idx) * fraction)) if len(idx) >= 5 else 0
        held.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(held), dtype=np.int64)


def train_model(
    examples: list[Example],
    features: FeatureConfig | None = None,
    train: TrainConfig | None = None,
) -> tuple[IntentModel, TrainingReport]:
    features = features or FeatureConfig()
    train = train or TrainConfig()
    started = time.perf_counter()
    if not examples:
        raise ValueError("no training examples found")
    labels = sorted({ex.intent for ex in examples})
    index = {name: i for i, name in enumerate(labels)}
    texts = [ex.text for ex in examples]
    y = np.array([index[ex.intent] for ex in examples], dtype=np.int64)
    strata = [f"{ex.intent}/{ex.language}" for ex in examples]
    tr, held = stratified_split(strata, HELDOUT_FRACTION, train.seed)
    # One vectoriser over all texts (idf uses no labels). Train on the split first, fit
    # the temperature on the held-out part, then continue on everything: cheaper than
    # two trainings from scratch, and the final model has seen every example.
    vec = Vectoriser.fit(texts, features, GramHasher(features))
    x, _ = vec.transform(texts)
    temperature = 1.0
    accuracy = float("nan")
    per_language: dict[str, float] = {}
    n_classes = len(labels)
    class_weight = np.ones(n_classes, dtype=np.float32)
    if OUT_OF_SCOPE in index:
        # "Anything else" is far more varied than any one intent; a balanced share
        # under-weights it, and out-of-scope messages then leak into real intents.
        class_weight[index[OUT_OF_SCOPE]] = train.out_of_scope_weight
    if held.size:
        w, b = train_softmax(x, y, n_classes, train, rows=tr, class_weight=class_weight)
        logits = x.take(held).dot(w) + b
        temperature = fit_temperature(logits, y[held])
        predicted = logits.argmax(axis=1)
        accuracy = float(np.mean(predicted == y[held]))
        for lang in sorted({ex.language for ex in examples}):
            mask = np.array([examples[i].language == lang for i in held])
            if mask.any():
                per_language[lang] = float(np.mean(predicted[mask] == y[held][mask]))
        w, b = train_softmax(
            x,
            y,
            n_classes,
            train,
            init=(w, b),
            epochs=train.final_epochs,
            class_weight=class_weight,
        )
    else:
        w, b = train_softmax(x, y, n_classes, train, class_weight=class_weight)
    key = model_key(examples, features, train)
    meta = {
        "key": key,
        "code_version": CODE_VERSION,
        "n_examples": len(examples),
        "heldout_accuracy": accuracy,
        "heldout_size": int(held.size),
        "train_config": train.__dict__,
    }
    model = IntentModel(vec, w, b, labels, temperature, meta)
    seconds = time.perf_counter() - started
    report = TrainingReport(
        n_examples=len(examples),
        n_intents=len(labels),
        heldout_accuracy=accuracy,
        heldout_size=int(held.size),
        temperature=temperature,
        seconds=seconds,
        per_language=per_language,
    )
    return model, report


def load_or_train(
    examples: list[Example] | None = None,
    *,
    directory: Path | None = None,
    force: bool = False,
    features: FeatureConfig | None = None,
    train: TrainConfig | None = None,
) -> tuple[IntentModel, TrainingReport | None]:
    """The model for the current data: loaded if its artefact exists, else trained and saved.

    Returns the training report when training happened, else ``None``.
    """
    features = features or FeatureConfig()
    train = train or TrainConfig()
    examples = load_examples() if examples is None else examples
    key = model_key(examples, features, train)
    directory = directory or models_dir()
    stem = directory / f"intent-{key}"
    exists = stem.with_suffix(".npz").exists() and stem.with_suffix(".json").exists()
    if not force and exists:
        try:
            model = IntentModel.load(stem)
            _remember(key, model)
            return model, None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
            pass  # a damaged or old artefact: retrain below
    report: TrainingReport | None = None
    model_or_none = None if (force or exists) else _IN_PROCESS.get(key)
    if model_or_none is None:
        model, report = train_model(examples, features, train)
    else:
        # Same data already trained in this process (another data dir, e.g. in tests):
        # the result would be byte-identical, so reuse it instead of training again.
        model = model_or_none
    _remember(key, model)
    try:
        model.save(stem)
        _prune_old(directory, keep=stem.name)
    except OSError:
        pass  # a read-only data dir still gets a working in-memory model
    return model, report


_IN_PROCESS: dict[str, IntentModel] = {}


def _remember(key: str, model: IntentModel) -> None:
    if key not in _IN_PROCESS and len(_IN_PROCESS) >= 2:
        _IN_PROCESS.pop(next(iter(_IN_PROCESS)))
    _IN_PROCESS[key] = model


def _prune_old(directory: Path, keep: str) -> None:
    """Drop artefacts of older data, keeping the newest few for quick switching back."""
    stems = sorted(
        {p.with_suffix("") for p in directory.glob("intent-*.json")},
        key=lambda p: p.with_suffix(".json").stat().st_mtime,
        reverse=True,
    )
    for old in stems[4:]:
        if old.name == keep:
            continue
        for suffix in (".npz", ".json"):
            old.with_suffix(suffix).unlink(missing_ok=True)
