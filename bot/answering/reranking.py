"""The re-ranker: a linear score over each candidate passage's features, learnt from the dev set.

Blending and page support (retrieval.rank) give one score per candidate from two searches. The
re-ranker looks at more of what the searches already returned (no new search, no model call):
each side's cosine, BM25 and fused score, how far the passage sits below the best one, its page's
best and second-best scores, how many of the page's passages were found, and how many of the
question's (and the thread's) keywords its page title and its text hold, how many earlier
answers in the thread cited its page and whether the last answer's search ranked it among its
first three (a reply is most often about the pages the last answers drew on). Its score is
``sum(weight * feature)``, best first; the weights live in config/supportbot.toml
([retrieval.rerank_model]) and `supportbot eval` refits them on folds and prints them.

It orders first messages and replies. A message in a thread that reads as a new question is
ordered by a second model over the message's own search alone (OWN_WORDS_FEATURES, see
reads_alone()). It is fitted listwise (a softmax over each question's candidates, towards the passages that hold
the gold answer), so it learns which passages to give the answerer, and anchored to the ranking
it corrects: the blended score ("blend") keeps a fixed weight (ANCHOR) on top of the fitted one.
Cross-validation chose the anchor: without it the fit moved passages well but moved some pages
down (Social Security's top 5 fell); with it every domain held or gained on held-out folds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from bot.answering.keyword_sets import keyword_set, share
from bot.knowledge.keywords import keyword_tokens
from bot.knowledge.stores.protocol import SearchHit
from bot.types import ThreadPages

FEATURES = (
    "blend",  # the score of retrieval.rank (blend and page support): what the model corrects
    "own_score", "own_cosine", "own_keyword",  # the message's own search (keyword: BM25 / best BM25)
    "context_score", "context_cosine", "context_keyword",  # the search with the thread's context
    "in_own", "in_context",  # which searches found the passage
    "own_gap", "context_gap",  # cosine below the best passage of that search
    "page_own_best", "page_own_second", "page_context_best", "page_context_second",
    "page_passages",  # log(1 + the page's passages among the candidates)
    "title_own", "title_thread",  # share of the message's / the thread's keywords in the page title
    "text_own",  # share of the message's keywords in the passage
    "follow_up_context_score", "follow_up_page_context", "follow_up_own_score",  # the same for replies
    "own_position", "context_position",  # 1 / (1 + place in that search's list), 0 if absent
    "cited_earlier",  # log(1 + earlier answers in the thread that cited the page)
    "consulted_last",  # 1 if the last answer's search ranked the page among its first three
)
# What the new-question model reads: the blend and the message's own search, nothing of the
# thread's (so a new topic in an old thread is not pulled back to the old pages).
OWN_WORDS_FEATURES = ("blend", "own_score", "own_cosine", "own_keyword", "in_own", "own_gap", "page_own_best",
                      "page_own_second", "page_passages", "title_own", "text_own", "own_position")
ANCHOR = 20.0  # the blended score's fixed weight beside the fitted ones (chosen by cross-validation
#                 over 3, 10, 20, 30 and 50: 20 held or gained top 1, top 5 and coverage in every domain)
RIDGE = 1.0
NEWTON_STEPS = 30


def candidate_features(ranked: Sequence[SearchHit], own: Sequence[SearchHit], with_context: Sequence[SearchHit],
                       follow_up: bool, own_words: str, earlier: Sequence[str] = (),
                       thread: ThreadPages = ThreadPages()) -> np.ndarray:
    """One row per hit of `ranked` (retrieval.rank's output), columns in FEATURES order."""
    if not ranked:
        return np.zeros((0, len(FEATURES)))
    by_own = {hit.chunk.id: hit for hit in own}
    by_context = {hit.chunk.id: hit for hit in with_context}
    own_place = {hit.chunk.id: place for place, hit in enumerate(own)}
    context_place = {hit.chunk.id: place for place, hit in enumerate(with_context)}
    own_best_keyword = max((hit.keyword_score for hit in own), default=0.0) or 1.0
    context_best_keyword = max((hit.keyword_score for hit in with_context), default=0.0) or 1.0
    # A passage one search did not return sits at most at that search's lowest cosine.
    own_floor = min((hit.similarity for hit in own), default=0.0)
    context_floor = min((hit.similarity for hit in with_context), default=0.0)
    own_best = max((hit.similarity for hit in own), default=0.0)
    context_best = max((hit.similarity for hit in with_context), default=0.0)
    pages: dict[str, tuple[list[float], list[float]]] = {}
    for hit in ranked:
        own_scores, context_scores = pages.setdefault(hit.chunk.document_id, ([], []))
        own_scores.append(by_own[hit.chunk.id].score if hit.chunk.id in by_own else 0.0)
        context_scores.append(by_context[hit.chunk.id].score if hit.chunk.id in by_context else 0.0)
    page_rows = {page: (*_best_two(own_scores), *_best_two(context_scores), float(np.log1p(len(own_scores))))
                 for page, (own_scores, context_scores) in pages.items()}
    times_cited = Counter(thread.cited)
    own_tokens = frozenset(keyword_tokens(own_words))
    thread_tokens = frozenset(keyword_tokens(" ".join(earlier)))
    reply = float(follow_up)
    rows = []
    for hit in ranked:
        mine, theirs = by_own.get(hit.chunk.id), by_context.get(hit.chunk.id)
        own_score = mine.score if mine else 0.0
        context_score = theirs.score if theirs else 0.0
        own_cosine = mine.similarity if mine else own_floor
        context_cosine = theirs.similarity if theirs else context_floor
        page = page_rows[hit.chunk.document_id]
        title = keyword_set(hit.chunk.title)
        rows.append((
            hit.score, own_score, own_cosine, mine.keyword_score / own_best_keyword if mine else 0.0,
            context_score, context_cosine, theirs.keyword_score / context_best_keyword if theirs else 0.0,
            float(mine is not None), float(theirs is not None),
            own_cosine - own_best, context_cosine - context_best if with_context else 0.0,
            *page,
            share(own_tokens, title), share(thread_tokens, title),
            share(own_tokens, keyword_set(hit.chunk.text)),
            reply * context_score, reply * page[2], reply * own_score,
            1.0 / (1 + own_place[hit.chunk.id]) if mine else 0.0,
            1.0 / (1 + context_place[hit.chunk.id]) if theirs else 0.0,
            float(np.log1p(times_cited[hit.chunk.document_id])),
            float(hit.chunk.document_id in thread.consulted),
        ))
    return np.asarray(rows, dtype=np.float64)


def _best_two(values: list[float]) -> tuple[float, float]:
    first, second = ([*sorted(values, reverse=True), 0.0])[:2]
    return first, second


def reads_alone(follow_up: bool, in_thread: bool) -> bool:
    """Whether the message is a new question in a thread, ordered by the new-question model (the
    message's own search only) instead of the one for first messages and replies.

    Fitted on doc2dial, whose threads rarely change topic, the full model leans on the thread
    (title_thread, page_context_best); on the eval's check of first questions asked in other
    dialogues' threads it put the new page in the top 5 0.735 of the time against the blend's
    0.785, so such messages used to keep the blend. Ordered on their own words they keep that check
    (0.795) and find the page first more often: held out (5 folds, cached retrieval results),
    these messages' top 1 went 0.725 -> 0.764 with every domain held or gained, and
    `supportbot eval` then measured the whole dev set's top 1 0.744 -> 0.765."""
    return in_thread and not follow_up


def weight_vector(model: Mapping[str, float]) -> np.ndarray:
    return np.array([model.get(name, 0.0) for name in FEATURES], dtype=np.float64)


def rerank(ranked: Sequence[SearchHit], features: np.ndarray, model: Mapping[str, float]) -> list[SearchHit]:
    """The hits ordered by the model's score, best first (ties keep the order they came in).

    Each hit's score becomes the model's softmax over the candidates: the share of belief that this
    passage holds the answer, 0..1 like the fused scores it replaces (LangChain's metadata shows it).
    """
    if not ranked:
        return []
    scores = features @ weight_vector(model)
    shares = np.exp(scores - scores.max())
    shares /= shares.sum()
    order = np.argsort(-scores, kind="stable")
    return [replace(ranked[i], score=float(shares[i])) for i in order]


def fit_reranker(features: Sequence[np.ndarray], targets: Sequence[np.ndarray], anchor: float = ANCHOR,
                 ridge: float = RIDGE, names: Sequence[str] = FEATURES) -> dict[str, float]:
    """Weights such that each question's softmax over its candidates puts its mass on the targets
    (1 for a passage that holds the answer, 0 else; questions without one are skipped), plus
    `anchor` on the blended score. Newton's method with a ridge and step halving. `features` has
    the columns of FEATURES; the model reads the `names` among them (OWN_WORDS_FEATURES: the
    new-question model)."""
    columns = [FEATURES.index(name) for name in names]
    kept = [(x[:, columns], t / t.sum()) for x, t in zip(features, targets) if len(t) and t.sum() > 0]
    if not kept:
        raise ValueError("no question has a target passage among its candidates")
    stacked = np.vstack([x for x, _ in kept])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale == 0] = 1.0
    lists = [((x - mean) / scale, t) for x, t in kept]  # a shift per column changes no ordering

    def loss(w: np.ndarray) -> float:
        total = 0.5 * ridge * float(w @ w)
        for z, t in lists:
            s = z @ w
            top = s.max()
            total += top + float(np.log(np.exp(s - top).sum())) - float(t @ s)
        return total

    weights = np.zeros(stacked.shape[1])
    current = loss(weights)
    for _ in range(NEWTON_STEPS):
        gradient, hessian = ridge * weights, ridge * np.eye(len(weights))
        for z, t in lists:
            s = z @ weights
            p = np.exp(s - s.max())
            p /= p.sum()
            mean_row = p @ z
            gradient += mean_row - t @ z
            hessian += (z * p[:, None]).T @ z - np.outer(mean_row, mean_row)
        step, size = np.linalg.solve(hessian, gradient), 1.0
        while size > 1e-4 and (trial := loss(weights - size * step)) > current:
            size /= 2  # a full Newton step overshoots on a softmax far from the optimum
        if size <= 1e-4:
            break
        weights -= size * step
        improved, current = current - trial, trial
        if improved < 1e-7:
            break
    raw = weights / scale
    raw[list(names).index("blend")] += anchor
    return {name: round(float(w), 4) for name, w in zip(names, raw)}
