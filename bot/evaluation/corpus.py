"""The evaluated knowledge base: indexed by the product's own pipeline into its own data directory.

The index lives under ``<data_dir>/eval/<corpus name>-<hash>/`` (never the bot's own index), and
a re-run re-embeds nothing unless the corpus or the pipeline changed. The quick subset indexes
only the documents its questions are grounded in plus a fixed-seed sample of the others as
distractors, so it runs in CI time; its figures are therefore not comparable with a full run,
and its report says so.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from bot.evaluation.datasets import EvalCase, EvalDataError, jsonl_records
from bot.settings import KnowledgeSource, Settings

DISTRACTOR_SHARE = 0.15  # of the documents no subset question is grounded in
DISTRACTOR_SEED = 20240601


@dataclass(frozen=True)
class EvalCorpus:
    path: Path  # the JSONL file that is indexed (the given corpus, or the subset's slice of it)
    source: Path  # the corpus given
    texts: dict[str, str]  # document id -> the text gold character spans point into
    restricted: bool  # True when only the subset's documents and some distractors are indexed
    titles: dict[str, str] = field(default_factory=dict)  # document id -> its page title

    @property
    def note(self) -> str:
        if not self.restricted:
            return f"all {len(self.texts)} documents of {self.source}"
        return (f"{len(self.texts)} documents of {self.source}: the ones the subset's questions are "
                f"grounded in plus a fixed-seed {DISTRACTOR_SHARE:.0%} sample of the rest as "
                "distractors (quick run; not comparable with a full run)")


def read_corpus(path: Path) -> dict[str, dict]:
    documents: dict[str, dict] = {}
    for number, record in jsonl_records(path):
        if "id" not in record or not isinstance(record.get("text"), str):
            raise EvalDataError(f"Corpus {path} line {number} needs an 'id' and a 'text'.")
        documents[str(record["id"])] = record
    if not documents:
        raise EvalDataError(f"Corpus {path} has no documents.")
    return documents


def eval_data_dir(settings: Settings, corpus: Path, restricted: bool) -> Path:
    key = hashlib.sha256(f"{corpus.resolve()}|{restricted}".encode()).hexdigest()[:10]
    return settings.data_dir / "eval" / f"{corpus.stem}-{'small-' if restricted else ''}{key}"


def prepare_corpus(settings: Settings, corpus: Path, cases: list[EvalCase],
                   restrict: bool) -> tuple[EvalCorpus, Settings]:
    """The corpus to index and the settings that index and answer from it, offline."""
    documents = read_corpus(corpus)
    unknown = sorted({d for case in cases for d in case.gold_doc_ids} - documents.keys())
    if unknown:
        raise EvalDataError(f"{len(unknown)} gold document id(s) are not in {corpus}, e.g. "
                            f"{unknown[0]!r}; evaluate the questions against the corpus they "
                            "were written for.")
    data_dir = eval_data_dir(settings, corpus, restrict)
    path = corpus
    if restrict:
        keep = _subset_documents(documents, cases)
        documents = {doc_id: documents[doc_id] for doc_id in sorted(keep)}
        path = data_dir / "corpus-subset.jsonl"
        _write_if_changed(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in documents.values()))
    eval_settings = settings.model_copy(update={
        "data_dir": data_dir,
        "knowledge": [KnowledgeSource(path=path, audience="public")],
        "anthropic_api_key": None,  # the offline (extractive) answerer: no network, repeatable
        # Every question is retrieved: a cache hit would hide the retrieval being measured.
        "cache": settings.cache.model_copy(update={"enabled": False}),
        "rate_limit": settings.rate_limit.model_copy(update={"enabled": False}),  # one "user" asks all
        "redis_url": None,  # state in process: an evaluation never touches a production Redis
        "weaviate": settings.weaviate.model_copy(update={"url": None, "multi_tenancy": False}),
    })
    texts = {doc_id: str(record["text"]) for doc_id, record in documents.items()}
    titles = {doc_id: str(record.get("title") or doc_id) for doc_id, record in documents.items()}
    return EvalCorpus(path=path, source=corpus, texts=texts, titles=titles, restricted=restrict), eval_settings


def _subset_documents(documents: dict[str, dict], cases: list[EvalCase]) -> set[str]:
    needed = {d for case in cases for d in case.gold_doc_ids}
    others = sorted(documents.keys() - needed)
    distractors = random.Random(DISTRACTOR_SEED).sample(others, round(DISTRACTOR_SHARE * len(others)))
    return needed | set(distractors)


def _write_if_changed(path: Path, text: str) -> None:
    # An unchanged file keeps its content hash, so the incremental index does no work.
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
