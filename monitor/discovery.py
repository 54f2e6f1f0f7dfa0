"""Theme discovery: complaints no theme covers, clustered by wording, so the taxonomy can grow from real data."""

from __future__ import annotations

import json

import sqlite_utils

from monitor.db import utc_now
from monitor.store import stable_id

MIN_CLUSTER = 2
MAX_DOCUMENTS = 5000  # the most recent uncovered complaints per business


def cluster_texts(texts: list[str]) -> list[tuple[list[int], list[str]]]:
    """Groups of similar texts (TF-IDF on character n-grams, agglomerative, cosine), largest first: each as its
    members' indices and the words that weigh most in it. Groups smaller than MIN_CLUSTER are left out."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances

    if len(texts) < MIN_CLUSTER:
        return []
    characters = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1, sublinear_tf=True)
    # Distances between texts, not the dense n-gram matrix: 5,000 texts take 200 MB instead of gigabytes.
    distances = cosine_distances(characters.fit_transform(texts))
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=0.85, metric="precomputed",
                                     linkage="average").fit_predict(distances)
    words = TfidfVectorizer(analyzer="word", token_pattern=r"(?u)\b\w{4,}\b")
    word_matrix = words.fit_transform(texts)
    vocabulary = words.get_feature_names_out()
    clusters = []
    for label in sorted(set(labels)):
        members = [i for i, value in enumerate(labels) if value == label]
        if len(members) < MIN_CLUSTER:
            continue
        weights = word_matrix[members].sum(axis=0).A1
        clusters.append((members, [vocabulary[i] for i in weights.argsort()[::-1][:6] if weights[i] > 0]))
    return sorted(clusters, key=lambda cluster: (-len(cluster[0]), cluster[0][0]))


def run_discovery(db: sqlite_utils.Database) -> dict[str, int]:
    """Cluster uncovered complaints per business into theme candidates."""
    totals = {"clusters": 0, "complaints": 0}
    now = utc_now()
    for (business_id,) in db.execute("SELECT id FROM businesses").fetchall():
        rows = list(db.query(
            """SELECT id, COALESCE(title, '') || ' ' || COALESCE(body, '') AS text FROM reviews r
               WHERE business_id = ? AND complaint = 1 AND removed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM review_themes t WHERE t.review_id = r.id)
               AND length(trim(COALESCE(title, '') || COALESCE(body, ''))) > 0
               ORDER BY published_at DESC LIMIT ?""", [business_id, MAX_DOCUMENTS]))
        texts = [row["text"] for row in rows]
        clusters: list[dict] = []
        for members, top in cluster_texts(texts):
            ids = sorted(rows[i]["id"] for i in members)
            clusters.append({
                "id": f"{business_id}:{stable_id(*ids)}",
                "business_id": business_id,
                "top_terms": ", ".join(top),
                "size": len(members),
                "examples": json.dumps([texts[i].strip()[:200] for i in members[:3]], ensure_ascii=False),
                "review_ids": json.dumps(ids),
            })
        stored = {row["id"]: row for row in db.query("SELECT * FROM theme_candidates WHERE business_id = ?", [business_id])}
        with db.atomic():
            for old in stored.keys() - {c["id"] for c in clusters}:
                db.table("theme_candidates").delete(old)
            for cluster in clusters:
                old = stored.get(cluster["id"])
                if old is None or any(old[k] != v for k, v in cluster.items()):
                    db.table("theme_candidates").upsert(cluster | {"updated_at": now}, pk="id")
        totals["clusters"] += len(clusters)
        totals["complaints"] += sum(c["size"] for c in clusters)
    return totals
