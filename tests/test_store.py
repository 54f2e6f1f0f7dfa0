import pytest

from monitor.store import ensure_business, ensure_source, mark_removed, save_reviews, slugify, stable_id


def rows(db, sql, params=()):
    return db.execute(sql, params).fetchall()


def test_new_review_is_stored_with_seen_times(db, review):
    result = save_reviews(db, [review], now="2026-11-01T06:00:00Z")
    assert (result.new, result.updated, result.unchanged, result.rejected) == (1, 0, 0, [])
    stored = db["reviews"].get("trustpilot:64f1c0a2b3")
    assert stored["rating"] == 2.0
    assert stored["first_seen_at"] == stored["last_seen_at"] == "2026-11-01T06:00:00Z"
    assert stored["removed_at"] is None


def test_same_review_twice_changes_only_last_seen(db, review):
    save_reviews(db, [review], now="2026-11-01T06:00:00Z")
    before = db["reviews"].get("trustpilot:64f1c0a2b3")
    result = save_reviews(db, [dict(review)], now="2026-11-08T06:00:00Z")
    after = db["reviews"].get("trustpilot:64f1c0a2b3")
    assert (result.new, result.updated, result.unchanged) == (0, 0, 1)
    assert after == before | {"last_seen_at": "2026-11-08T06:00:00Z"}
    assert db["review_history"].count == 0


def test_edit_and_new_reply_land_in_history(db, review):
    save_reviews(db, [review], now="2026-11-01T06:00:00Z")
    edited = review | {
        "rating": 3,
        "body": "Vandet er væk nu, men det tog tid.",
        "reply_body": "Vi beklager og har været ude igen.",
        "reply_at": "2026-11-03T09:00:00Z",
    }
    result = save_reviews(db, [edited], now="2026-11-08T06:00:00Z")
    assert result.updated == 1
    assert rows(db, "SELECT field, old_value, new_value, changed_at FROM review_history ORDER BY id") == [
        ("rating", "2.0", "3.0", "2026-11-08T06:00:00Z"),
        ("body", review["body"], "Vandet er væk nu, men det tog tid.", "2026-11-08T06:00:00Z"),
        ("reply_body", None, "Vi beklager og har været ude igen.", "2026-11-08T06:00:00Z"),
        ("reply_at", None, "2026-11-03T09:00:00Z", "2026-11-08T06:00:00Z"),
    ]
    stored = db["reviews"].get("trustpilot:64f1c0a2b3")
    assert (stored["rating"], stored["reply_at"], stored["first_seen_at"], stored["last_seen_at"]) == (
        3.0, "2026-11-03T09:00:00Z", "2026-11-01T06:00:00Z", "2026-11-08T06:00:00Z",
    )


def test_fields_absent_from_a_record_are_left_alone(db, review):
    save_reviews(db, [review | {"reply_body": "Tak"}], now="2026-11-01T06:00:00Z")
    partial = {k: v for k, v in review.items() if k != "body"}
    assert save_reviews(db, [partial], now="2026-11-02T06:00:00Z").unchanged == 1
    assert db["reviews"].get("trustpilot:64f1c0a2b3")["body"] == review["body"]


def test_crash_mid_batch_leaves_database_as_before(db, review):
    save_reviews(db, [review], now="2026-11-01T06:00:00Z")

    def records():
        yield review | {"body": "changed"}
        for number in range(700):  # more than one internal batch is written before the crash
            yield review | {"external_id": f"n{number}"}
        raise ConnectionError("spider died")

    with pytest.raises(ConnectionError):
        save_reviews(db, records(), now="2026-11-08T06:00:00Z")
    assert db["reviews"].count == 1
    assert db["reviews"].get("trustpilot:64f1c0a2b3")["body"] == review["body"]
    assert db["review_history"].count == 0
    assert rows(db, "SELECT count(*) FROM reviews_fts")[0][0] == 1


def test_bad_records_are_reported_and_the_rest_kept(db, review):
    records = [
        review,
        review | {"external_id": "r2", "rating": 7},
        review | {"external_id": "r3", "published_at": "3. oktober"},
        {k: v for k, v in review.items() if k != "source"},
        review | {"external_id": "r5", "stars": 4},
        review | {"external_id": "r6", "rating": "fem"},
        review | {"external_id": "r7", "rating": None},
    ]
    result = save_reviews(db, records, now="2026-11-01T06:00:00Z")
    assert result.rejected == [
        (1, "review r2: rating 7.0 is outside 1-5"),
        (2, "review r3: published_at '3. oktober' is not an ISO-8601 date"),
        (3, "review 64f1c0a2b3: source is missing"),
        (4, "review r5: unknown field 'stars'"),
        (5, "review r6: rating 'fem' is not a number"),
    ]
    assert [r[0] for r in rows(db, "SELECT id FROM reviews ORDER BY id")] == [
        "trustpilot:64f1c0a2b3", "trustpilot:r7",
    ]


def test_same_review_twice_in_one_batch(db, review):
    result = save_reviews(db, [review, review | {"reply_body": "Tak!"}], now="2026-11-01T06:00:00Z")
    assert (result.new, result.updated) == (1, 1)
    assert db["reviews"].get("trustpilot:64f1c0a2b3")["reply_body"] == "Tak!"


def test_full_text_search_follows_text_changes(db, review):
    save_reviews(db, [review], now="2026-11-01T06:00:00Z")
    search = "SELECT reviews.id FROM reviews_fts JOIN reviews ON reviews.rowid = reviews_fts.rowid WHERE reviews_fts MATCH ?"
    assert rows(db, search, ["gulvet"]) == [("trustpilot:64f1c0a2b3",)]
    assert rows(db, search, ["UTÆT"]) == [("trustpilot:64f1c0a2b3",)]
    save_reviews(db, [review | {"external_id": "de1", "title": "Schäden im Bad", "body": "Wasser"}], now="2026-11-01T06:00:00Z")
    assert rows(db, search, ["schaden"]) == [("trustpilot:de1",)]  # diacritics folded
    save_reviews(db, [review | {"reply_body": "Vi kommer forbi mandag"}], now="2026-11-02T06:00:00Z")
    assert rows(db, search, ["mandag"]) == [("trustpilot:64f1c0a2b3",)]
    save_reviews(db, [review | {"body": "Alt i orden nu"}], now="2026-11-03T06:00:00Z")
    assert rows(db, search, ["gulvet"]) == []


def test_removed_then_seen_again(db, review, business_id):
    source_id = ensure_source(db, business_id, "trustpilot", "https://dk.trustpilot.com/review/hansen-vvs.dk")
    other = review | {"external_id": "keep", "source_id": source_id}
    save_reviews(db, [review | {"source_id": source_id}, other], now="2026-11-01T06:00:00Z")
    assert mark_removed(db, source_id, {"trustpilot:keep"}, now="2026-11-08T06:00:00Z") == 1
    assert mark_removed(db, source_id, {"trustpilot:keep"}, now="2026-11-09T06:00:00Z") == 0
    assert db["reviews"].get("trustpilot:64f1c0a2b3")["removed_at"] == "2026-11-08T06:00:00Z"
    save_reviews(db, [review | {"source_id": source_id}], now="2026-11-15T06:00:00Z")
    assert db["reviews"].get("trustpilot:64f1c0a2b3")["removed_at"] is None
    assert rows(db, "SELECT field, old_value, new_value FROM review_history ORDER BY id") == [
        ("removed_at", None, "2026-11-08T06:00:00Z"),
        ("removed_at", "2026-11-08T06:00:00Z", None),
    ]


def test_business_and_source_keys_are_stable(db):
    assert slugify("Hansen VVS ApS") == "hansen-vvs-aps"
    assert slugify("Ørsted & Søn Tømrer") == "oersted-soen-toemrer"
    assert slugify("Müller Sanitär GmbH") == "mueller-sanitaer-gmbh"
    assert stable_id("a", "b") == "687d61996b1c1278"  # sha1, identical in every process
    assert stable_id("a", "b") != stable_id("ab", "")
    first = ensure_business(db, "Müller Sanitär GmbH")
    assert ensure_business(db, "Müller Sanitär GmbH") == first == "mueller-sanitaer-gmbh"
    assert db["businesses"].count == 1
    assert ensure_source(db, first, "feed", "http://127.0.0.1/a.rss") == ensure_source(
        db, first, "feed", "http://127.0.0.1/a.rss"
    )
    assert db["sources"].count == 1
