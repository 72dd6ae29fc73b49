"""Training: reproducible bytes, the data-keyed artefact, user examples (`train --add`),
the CLI (`nlu`, `nlu --jsonl`, `eval nlu`) and hygiene of the training data."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopassist.cli import app
from shopassist.engine.nlu.intent_model import load_or_train, train_model
from shopassist.engine.nlu.training_data import (
    Example,
    TrainingDataError,
    add_training_example,
    load_examples,
    user_training_dir,
)

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO.parent / "shared" / "datasets"


def small_sample(per_group: int = 12) -> list[Example]:
    groups: dict[tuple[str, str], list[Example]] = defaultdict(list)
    for ex in load_examples(include_user=False):
        if len(groups[(ex.intent, ex.language)]) < per_group:
            groups[(ex.intent, ex.language)].append(ex)
    return [ex for group in groups.values() for ex in group]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("nlu-models")
    load_or_train(load_examples(include_user=False), directory=directory)
    return directory


@pytest.fixture
def shared_model(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOPASSIST_NLU_MODEL_DIR", str(model_dir))
    return model_dir


def test_retraining_gives_the_same_bytes(tmp_path: Path) -> None:
    sample = small_sample()
    first, _ = train_model(sample)
    second, _ = train_model(list(reversed(sample)) and sorted(sample))
    first.save(tmp_path / "a")
    second.save(tmp_path / "b")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_artefact_is_reused_and_retrained_when_data_changes(tmp_path: Path) -> None:
    sample = small_sample(8)
    _, report = load_or_train(sample, directory=tmp_path)
    assert report is not None and report.n_examples == len(sample)
    model, report = load_or_train(sample, directory=tmp_path)
    assert report is None  # loaded, not trained
    assert len(list(tmp_path.glob("intent-*.npz"))) == 1
    changed = [*sample, Example("track_order", "en", "any news on my parcel to Leeds")]
    _, report = load_or_train(changed, directory=tmp_path)
    assert report is not None and report.n_examples == len(sample) + 1
    assert len(list(tmp_path.glob("intent-*.npz"))) == 2
    assert model.labels == sorted({ex.intent for ex in sample})


def test_damaged_artefact_is_retrained(tmp_path: Path) -> None:
    sample = small_sample(6)
    load_or_train(sample, directory=tmp_path)
    for path in tmp_path.glob("intent-*.json"):
        path.write_text("{broken", encoding="utf-8")
    _, report = load_or_train(sample, directory=tmp_path)
    assert report is not None


def test_add_training_example_validates_and_appends() -> None:
    path = add_training_example("  where's my\nparcel\x1b[31m gone  ", "track_order")
    assert path == user_training_dir() / "en" / "track_order.txt"
    assert path.read_text(encoding="utf-8") == "where's my parcel gone\n"
    add_training_example("where's my parcel gone", "track_order")  # duplicate: not appended
    assert path.read_text(encoding="utf-8").count("\n") == 1
    zh = add_training_example("我那个蓝色包裹到底寄到哪儿去了呀", "track_order")
    assert zh.parent.name == "zh"
    assert any(
        ex.source == "user" and ex.text == "我那个蓝色包裹到底寄到哪儿去了呀"
        for ex in load_examples()
    )
    with pytest.raises(TrainingDataError, match="unknown intent 'track_ordr'"):
        add_training_example("hello", "track_ordr")
    with pytest.raises(TrainingDataError, match="empty"):
        add_training_example(" \x00 ", "greet")
    with pytest.raises(TrainingDataError, match="language"):
        add_training_example("hello", "greet", language="fr")


def test_user_example_changes_the_model_key(shared_model: Path) -> None:
    from shopassist.engine.nlu.classifier import TrainConfig
    from shopassist.engine.nlu.features import FeatureConfig
    from shopassist.engine.nlu.intent_model import model_key

    before = model_key(load_examples(), FeatureConfig(), TrainConfig())
    add_training_example("yo, where's my stuff", "track_order")
    assert model_key(load_examples(), FeatureConfig(), TrainConfig()) != before


def test_cli_train_add_rejects_unknown_intent() -> None:
    result = CliRunner().invoke(app, ["train", "--add", "hello", "no_such_intent"])
    assert result.exit_code == 2
    assert "unknown intent 'no_such_intent'" in result.output
    assert not (user_training_dir() / "en" / "no_such_intent.txt").exists()


def test_cli_nlu_json(shared_model: Path) -> None:
    result = CliRunner().invoke(app, ["nlu", "cancel order #10023 now", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["intent"]["name"] == "cancel_order"
    assert data["entities"][0]["type"] == "order_number" and data["entities"][0]["value"] == "10023"


def test_cli_nlu_rich_output(shared_model: Path) -> None:
    result = CliRunner().invoke(
        app, ["nlu", "I was charged $49.99 twice!!", "--today", "2026-11-03"]
    )
    assert result.exit_code == 0, result.output
    assert "payment_issue" in result.output and "Top intents" in result.output
    assert "money" in result.output and "Sentiment" in result.output
    bad = CliRunner().invoke(app, ["nlu", "hi", "--today", "yesterday"])
    assert bad.exit_code == 2 and "--today" in bad.output


def test_cli_jsonl(shared_model: Path) -> None:
    lines = [
        "where is order 10023",
        json.dumps({"text": "我要退款"}, ensure_ascii=False),
        "{not json",
        json.dumps({"txt": "missing"}),
        "",
    ]
    result = CliRunner().invoke(app, ["nlu", "--jsonl"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == len(lines)
    first = out[0]
    assert set(first) >= {"text", "language", "intent", "ranking", "entities", "sentiment"}
    assert first["intent"] == {"name": "track_order", "confidence": first["intent"]["confidence"]}
    assert {"type", "value", "start", "end"} <= set(first["entities"][0])
    assert set(first["sentiment"]) >= {"label", "score"}
    assert out[1]["language"] == "zh" and out[1]["intent"]["name"] == "get_refund"
    assert "invalid JSON" in out[2]["error"] and out[2]["line"] == 3
    assert "text" in out[3]["error"]
    assert out[4]["intent"]["name"] == "out_of_scope"


def test_cli_eval_nlu_on_a_small_csv(shared_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["utterance", "label", "entity_type", "start_offset", "end_offset"])
        writer.writerow(["please cancel order 4410", "cancel_order", "order_id", "20", "24"])
        writer.writerow(["please cancel order 4410", "cancel_order", "", "", ""])
        writer.writerow(["how long does delivery take", "delivery_period", "", "", ""])
        writer.writerow(["I forgot my password", "recover_password", "", "", ""])
    runner = CliRunner()
    result = runner.invoke(
        app, ["eval", "nlu", str(path), "--text-col", "utterance", "--label-col", "label", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["n"] == 3 and data["accuracy"] == 1.0
    assert data["entities"][0]["exact"] == 1
    plain = runner.invoke(
        app, ["eval", "nlu", str(path), "--text-col", "utterance", "--label-col", "label"]
    )
    assert plain.exit_code == 0 and "Macro-F1" in plain.output
    missing = runner.invoke(app, ["eval", "nlu", str(path)])
    assert missing.exit_code == 2 and "no column 'text'" in missing.output
    nofile = runner.invoke(app, ["eval", "nlu", str(tmp_path / "nope.csv")])
    assert nofile.exit_code == 1 and "not a file" in nofile.output


def test_cli_eval_oos(shared_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "oos.txt"
    path.write_text(
        "what's the tallest mountain on earth\nplay some jazz music\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["eval", "nlu", str(path), "--oos", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["n"] == 2 and data["rejected"] == 2


@pytest.mark.skipif(not DATASETS.is_dir(), reason="shared datasets not present")
def test_no_training_line_is_near_an_evaluation_text() -> None:
    from rapidfuzz import fuzz, process

    eval_texts: list[str] = []
    for path in sorted(DATASETS.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            eval_texts += [row["text"] for row in csv.DictReader(fh) if row.get("text")]
    for path in sorted(DATASETS.glob("*.txt")):
        if path.name.startswith("LICENSE"):
            continue
        eval_texts += [
            line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    eval_texts = sorted(set(eval_texts))
    training = sorted({ex.text for ex in load_examples(include_user=False)})
    assert eval_texts and training
    lowered = {t.lower() for t in training}
    assert not [t for t in eval_texts if t.lower() in lowered]
    scores = process.cdist(eval_texts, training, scorer=fuzz.ratio, score_cutoff=90, workers=-1)
    near = [(eval_texts[i], training[j]) for i, j in zip(*scores.nonzero(), strict=True)]
    assert not near, near[:5]


# Words that carry no content: a shared run of these ("what do i need to do to") is just
# English, while a shared run with content words is a paraphrase of someone else's sentence.
_FUNCTION_WORD_TEXT = (
    "i me my you your u we to do the a an of for with in on at from how can could would will "
    "what where when is it be have has had need want like help please pls know dont don't i'd "
    "i'm im and or that this there get see make about some any if by id"
)
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_TEXT.split())


@pytest.mark.skipif(not DATASETS.is_dir(), reason="shared datasets not present")
def test_no_training_line_paraphrases_an_evaluation_text() -> None:
    """Fuzzy ratio misses light edits ("Hi there! Could you help me see what hours I can
    contact customer support?"). No training line may share a run of five words, two of
    them content words, with an evaluation text."""
    import re

    word = re.compile(r"[a-z0-9']+")

    def runs(text: str) -> set[tuple[str, ...]]:
        w = word.findall(text.lower())
        return {
            tuple(w[i : i + 5])
            for i in range(len(w) - 4)
            if sum(t not in _FUNCTION_WORDS for t in w[i : i + 5]) >= 2
        }

    evaluation: set[tuple[str, ...]] = set()
    for path in sorted(DATASETS.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                evaluation |= runs(row.get("text") or "")
    for path in sorted(DATASETS.glob("*.txt")):
        if not path.name.startswith("LICENSE"):
            for line in path.read_text(encoding="utf-8").splitlines():
                evaluation |= runs(line)
    assert evaluation
    shared = [ex.text for ex in load_examples(include_user=False) if runs(ex.text) & evaluation]
    assert not shared, shared[:10]


@pytest.mark.skipif(not DATASETS.is_dir(), reason="shared datasets not present")
def test_targets_on_the_shared_datasets(shared_model: Path) -> None:
    from shopassist.engine.nlu.evaluation import (
        evaluate,
        evaluate_oos,
        read_labelled_csv,
        read_lines,
    )
    from shopassist.engine.nlu.understand import Understander

    understander = Understander.load()
    rows, _ = read_labelled_csv(DATASETS / "bitext-dev.csv")
    report = evaluate(understander, rows)
    assert report.accuracy >= 0.93, report.confusions
    orders = next(e for e in report.entities if e.entity_type == "order_id")
    assert orders.exact_match >= 0.98, orders.misses
    oos = evaluate_oos(understander, read_lines(DATASETS / "clinc150-oos-dev.txt"))
    assert oos.rejected >= 90, oos.accepted


def test_cli_train_add_appends_and_retrains() -> None:
    result = CliRunner().invoke(app, ["train", "--add", "yo where's my stuff at", "track_order"])
    assert result.exit_code == 0, result.output
    assert "Held-out accuracy" in result.output and "Trained on" in result.output
    user_file = user_training_dir() / "en" / "track_order.txt"
    assert user_file.read_text(encoding="utf-8") == "yo where's my stuff at\n"
    assert any(ex.source == "user" for ex in load_examples())


@pytest.mark.parametrize("command", [["nlu"], ["train"], ["eval", "nlu"]])
def test_nlu_commands_have_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output.splitlines()) > 5


def test_cli_nlu_needs_a_message() -> None:
    result = CliRunner().invoke(app, ["nlu"])
    assert result.exit_code == 2 and "--jsonl" in result.output
