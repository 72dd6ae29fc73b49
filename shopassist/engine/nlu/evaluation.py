"""Measuring understanding on labelled data: intent accuracy, macro-F1, confusions,
entity-span exact match and out-of-scope rejection.

The CLI (``shopassist eval nlu``) only formats what this module computes, so tests and
benchmarks get the same numbers as a person at the terminal.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shopassist.engine.nlu.training_data import OUT_OF_SCOPE
from shopassist.engine.nlu.understand import Understander

# Entity columns in labelled CSVs (Bitext style) → the entity type we extract.
ENTITY_TYPE_MAP = {"order_id": "order_number", "invoice_id": "invoice_number"}


class EvaluationError(ValueError):
    """The evaluation file is unusable; the message says why."""


@dataclass
class LabelledRow:
    text: str
    label: str
    entities: list[tuple[str, int, int]] = field(default_factory=list)  # (type, start, end)


@dataclass
class IntentMetrics:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EntityMatch:
    entity_type: str
    total: int
    exact: int
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exact_match(self) -> float:
        return self.exact / self.total if self.total else float("nan")


@dataclass
class EvalReport:
    n: int
    accuracy: float
    macro_f1: float
    per_intent: list[IntentMetrics]
    confusions: list[tuple[str, str, int]]
    misclassified: list[dict[str, Any]]
    labels: list[str]
    matrix: list[list[int]]
    entities: list[EntityMatch]
    seconds: float
    duplicates_dropped: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["entities"] = [{**asdict(e), "exact_match": e.exact_match} for e in self.entities]
        out["utterances_per_second"] = self.n / self.seconds if self.seconds else None
        return out


@dataclass
class OOSReport:
    n: int
    rejected: int
    accepted: list[dict[str, Any]]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_labelled_csv(
    path: Path, text_col: str = "text", label_col: str = "intent"
) -> tuple[list[LabelledRow], int]:
    """Rows deduplicated by text (Bitext repeats a text once per entity); entity spans merged."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise EvaluationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        missing = [c for c in (text_col, label_col) if c not in columns]
        if missing:
            raise EvaluationError(
                f"{path} has no column {', '.join(repr(m) for m in missing)}; "
                f"columns are: {', '.join(columns) or '(none)'} (use --text-col/--label-col)"
            )
        has_spans = {"entity_type", "start_offset", "end_offset"} <= set(columns)
        rows: dict[str, LabelledRow] = {}
        duplicates = 0
        try:
            for record in reader:
                text = (record.get(text_col) or "").strip("\n")
                label = (record.get(label_col) or "").strip()
                if not text.strip() or not label:
                    continue
                row = rows.get(text)
                if row is None:
                    row = rows[text] = LabelledRow(text, label)
                else:
                    duplicates += 1
                if has_spans:
                    etype = (record.get("entity_type") or "").strip()
                    try:
                        start = int(record.get("start_offset") or "")
                        end = int(record.get("end_offset") or "")
                    except ValueError:
                        continue
                    if etype and 0 <= start < end <= len(text):
                        span = (etype, start, end)
                        if span not in row.entities:
                            row.entities.append(span)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise EvaluationError(f"{path} is not a readable UTF-8 CSV: {exc}") from exc
    if not rows:
        raise EvaluationError(f"{path} has no labelled rows")
    return list(rows.values()), duplicates


def evaluate(
    understander: Understander, rows: list[LabelledRow], max_misclassified: int = 25
) -> EvalReport:
    started = time.perf_counter()
    results = [understander.understand(row.text) for row in rows]
    seconds = time.perf_counter() - started
    gold = [row.label for row in rows]
    pred = [r.intent.name for r in results]
    labels = sorted(set(gold) | set(pred))
    index = {name: i for i, name in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g]][index[p]] += 1
    per_intent = []
    for name in labels:
        i = index[name]
        tp = matrix[i][i]
        predicted = sum(matrix[r][i] for r in range(len(labels)))
        support = sum(matrix[i])
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent.append(IntentMetrics(name, precision, recall, f1, support))
    gold_labels = set(gold)
    macro = [m.f1 for m in per_intent if m.intent in gold_labels]
    confusions = Counter((g, p) for g, p in zip(gold, pred, strict=True) if g != p)
    misclassified = [
        {
            "text": row.text,
            "expected": row.label,
            "predicted": res.intent.name,
            "confidence": res.intent.confidence,
            "clarify": res.clarify,
        }
        for row, res in zip(rows, results, strict=True)
        if row.label != res.intent.name
    ][:max_misclassified]
    entity_reports: dict[str, EntityMatch] = {}
    for row, res in zip(rows, results, strict=True):
        for etype, start, end in row.entities:
            ours = ENTITY_TYPE_MAP.get(etype)
            if ours is None:
                continue
            report = entity_reports.setdefault(etype, EntityMatch(etype, 0, 0))
            report.total += 1
            expected = row.text[start:end]
            found = [e.text for e in res.entities if e.type == ours]
            if expected in found:
                report.exact += 1
            else:
                report.misses.append({"text": row.text, "expected": expected, "found": found})
    return EvalReport(
        n=len(rows),
        accuracy=sum(g == p for g, p in zip(gold, pred, strict=True)) / len(rows),
        macro_f1=sum(macro) / len(macro) if macro else 0.0,
        per_intent=per_intent,
        confusions=[(g, p, c) for (g, p), c in confusions.most_common(15)],
        misclassified=misclassified,
        labels=labels,
        matrix=matrix,
        entities=list(entity_reports.values()),
        seconds=seconds,
    )


def read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise EvaluationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise EvaluationError(f"{path} is not UTF-8 text: {exc}") from exc
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if not lines:
        raise EvaluationError(f"{path} has no lines to evaluate")
    return lines


def evaluate_oos(understander: Understander, lines: list[str]) -> OOSReport:
    """Every line is expected to be rejected as out_of_scope."""
    started = time.perf_counter()
    results = [understander.understand(line) for line in lines]
    seconds = time.perf_counter() - started
    accepted = [
        {"text": r.text, "predicted": r.intent.name, "confidence": r.intent.confidence,
         "clarify": r.clarify}
        for r in results
        if r.intent.name != OUT_OF_SCOPE
    ]  # fmt: skip
    return OOSReport(len(lines), len(lines) - len(accepted), accepted, seconds)
