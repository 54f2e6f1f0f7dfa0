"""The database's shape, declared as data: tables, columns, keys, indexes, full-text search.

Table and column names here are a public contract: the README's table reference,
metadata.yml and users' own queries depend on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, type]
    pk: str | tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    not_null: frozenset[str] = frozenset()
    indexes: tuple[tuple[str, ...], ...] = ()
    description: str = ""
    defaults: dict[str, object] = field(default_factory=dict)


JOB_IMPORT_FIELDS = (
    "job_id",
    "customer_name",
    "customer_email",
    "customer_phone",
    "address",
    "postcode",
    "city",
    "job_type",
    "crew",
    "materials",
    "started_at",
    "completed_at",
    "invoice_no",
    "amount",
    "due_at",
    "paid_at",
)

# Fields a source owns: a change in any of them is a change of the review and goes to review_history.
REVIEW_SOURCE_FIELDS = (
    "url",
    "author",
    "author_location",
    "rating",
    "title",
    "body",
    "published_at",
    "experienced_at",
    "edited_at",
    "reply_body",
    "reply_at",
)

# Fields only a crawl fills (imports do not carry them): the platform's verification label, the reviewer's
# own verified flag and review count, and whether published_at is the first-seen time for want of a date.
# Changes go to review_history too, so a reviewer's count can be followed over time.
REVIEW_CRAWL_FIELDS = ("verified", "reviewer_verified", "reviewer_review_count", "published_at_estimated")

TABLES: tuple[Table, ...] = (
    Table(
        "businesses",
        {
            "id": str,
            "name": str,
            "country": str,
            "languages": str,
            "aliases": str,
            "timezone": str,
            "reply_deadline_hours": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null=frozenset({"name"}),
        description="The businesses being monitored; id is a slug of the name.",
    ),
    Table(
        "sources",
        {
            "id": str,
            "business_id": str,
            "kind": str,
            "url": str,
            "name": str,
            "etag": str,
            "last_modified": str,
            "last_crawled_at": str,
            "last_status": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=(("business_id", "businesses", "id"),),
        not_null=frozenset({"business_id", "kind", "url"}),
        indexes=(("business_id",),),
        description="Where reviews and mentions are gathered from, one row per business and URL.",
    ),
    Table(
        "crawl_runs",
        {
            "id": int,
            "source_id": str,
            "business_id": str,
            "url": str,
            "started_at": str,
            "finished_at": str,
            "pages": int,
            "reviews_seen": int,
            "new": int,
            "updated": int,
            "removed": int,
            "errors": int,
            "status": str,
            "message": str,
            "dropped": int,  # records refused as malformed (their problems are in message)
        },
        pk="id",
        foreign_keys=(("source_id", "sources", "id"), ("business_id", "businesses", "id")),
        indexes=(("source_id", "started_at"), ("status",)),
        description="Health of each crawl of each source: pages, reviews, errors and status.",
    ),
    Table(
        "reviews",
        {
            "id": str,
            "business_id": str,
            "source_id": str,
            "source": str,
            "external_id": str,
            "url": str,
            "author": str,
            "author_location": str,
            "rating": float,
            "title": str,
            "body": str,
            "lang": str,
            "published_at": str,
            "experienced_at": str,
            "edited_at": str,
            "reply_body": str,
            "reply_at": str,
            "complaint": int,
            "first_seen_at": str,
            "last_seen_at": str,
            "removed_at": str,
            "analysis_key": str,
            "handled_at": str,
            "handled_by": str,
            "verified": int,
            "reviewer_verified": int,
            "reviewer_review_count": int,
            "published_at_estimated": int,
        },
        pk="id",
        foreign_keys=(("business_id", "businesses", "id"), ("source_id", "sources", "id")),
        not_null=frozenset({"business_id", "source", "external_id", "published_at"}),
        indexes=(
            ("published_at",),
            ("business_id", "published_at"),
            ("source", "published_at"),
            ("source_id",),
            ("complaint", "published_at"),
            ("lang",),
            ("rating",),
            ("author",),
        ),
        description="Reviews and mentions, one row per review on its platform.",
    ),
    Table(
        "review_history",
        {
            "id": int,
            "review_id": str,
            "changed_at": str,
            "field": str,
            "old_value": str,
            "new_value": str,
        },
        pk="id",
        foreign_keys=(("review_id", "reviews", "id"),),
        not_null=frozenset({"review_id", "changed_at", "field"}),
        indexes=(("review_id", "changed_at"), ("field",)),
        description="Every change of a stored review: one row per field, with old and new value.",
    ),
    Table(
        "jobs",
        {
            "id": str,
            "business_id": str,
            **{name: str for name in JOB_IMPORT_FIELDS},
            "amount": float,
            "imported_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=(("business_id", "businesses", "id"),),
        not_null=frozenset({"business_id", "job_id", "customer_name", "completed_at"}),
        indexes=(
            ("completed_at",),
            ("job_id",),
            ("business_id", "completed_at"),
            ("postcode",),
            ("job_type",),
            ("crew",),
            ("customer_name",),
            ("invoice_no",),
        ),
        description="Completed jobs from the business's own export; id is '<business id>:<job_id>'.",
    ),
    Table(
        "matches",
        {
            "id": str,
            "review_id": str,
            "job_id": str,
            "score": float,
            "status": str,
            "reasons": str,
            "decided_by": str,
            "decided_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=(("review_id", "reviews", "id"), ("job_id", "jobs", "id")),
        not_null=frozenset({"review_id", "status"}),
        indexes=(("review_id",), ("job_id",), ("status",)),
        description="Which job a review is about, with a score, a status and the reasons.",
    ),
    Table(
        "review_themes",
        {"review_id": str, "theme": str, "evidence": str},
        pk=("review_id", "theme"),
        foreign_keys=(("review_id", "reviews", "id"),),
        indexes=(("theme",),),
        description="Complaint themes found in a review, with the words that show it.",
    ),
    Table(
        "patterns",
        {
            "id": str,
            "business_id": str,
            "kind": str,
            "theme": str,
            "dimension": str,
            "dimension_value": str,
            "status": str,
            "evidence_count": int,
            "baseline_rate": float,
            "p_value": float,
            "window_days": int,
            "first_evidence_at": str,
            "last_evidence_at": str,
            "median_days_after_completion": float,
            "after_completion": int,
            "detected_at": str,
            "updated_at": str,
            "acknowledged_by": str,
            "acknowledged_at": str,
            "closed_by": str,
            "closed_at": str,
        },
        pk="id",
        foreign_keys=(("business_id", "businesses", "id"),),
        indexes=(("business_id", "status"), ("theme",)),
        description="Recurring complaint patterns: a theme piling up within a window.",
    ),
    Table(
        "pattern_members",
        {"pattern_id": str, "review_id": str},
        pk=("pattern_id", "review_id"),
        foreign_keys=(("pattern_id", "patterns", "id"), ("review_id", "reviews", "id")),
        indexes=(("review_id",),),
        description="The reviews that are evidence of each pattern.",
    ),
    Table(
        "review_flags",
        {"review_id": str, "flag": str, "detail": str, "job_id": str, "updated_at": str},
        pk=("review_id", "flag"),
        foreign_keys=(("review_id", "reviews", "id"),),
        indexes=(("flag",),),
        description="Context of a complaint: payment dispute risk, warranty case, no matching job.",
    ),
    Table(
        "theme_candidates",
        {"id": str, "business_id": str, "top_terms": str, "size": int, "examples": str, "review_ids": str,
         "updated_at": str},
        pk="id",
        foreign_keys=(("business_id", "businesses", "id"),),
        description="Complaints no theme covers, clustered: candidates for new themes.",
    ),
    Table(
        "summary_monthly",
        {"month": str, "business_id": str, "source": str, "reviews": int, "rated": int, "average_rating": float,
         "complaints": int, "replied": int, "median_reply_hours": float},
        pk=("month", "business_id", "source"),
        indexes=(("month",),),
        description="Reviews, ratings, complaints and replies per month and source, kept by analyze for the explorer.",
    ),
    Table(
        "summary_themes",
        {"month": str, "business_id": str, "theme": str, "complaints": int},
        pk=("month", "business_id", "theme"),
        indexes=(("month",),),
        description="Complaints per month and theme, kept by analyze for the explorer.",
    ),
    Table(
        "alerts",
        {
            "id": str,
            "key": str,
            "kind": str,
            "business_id": str,
            "subject": str,
            "channel": str,
            "severity": str,
            "title": str,
            "body": str,
            "status": str,
            "attempts": int,
            "last_error": str,
            "detail": str,
            "created_at": str,
            "delivered_at": str,
            "attempted_at": str,
            "idempotency_key": str,
        },
        pk="id",
        foreign_keys=(("business_id", "businesses", "id"),),
        indexes=(("status",), ("key",), ("kind",)),
        description="Alerts: one row per alert and channel, with delivery status.",
    ),
    Table(
        "follow_ups",
        {
            "id": str,
            "business_id": str,
            "job_id": str,
            "review_id": str,
            "kind": str,
            "due_at": str,
            "done_at": str,
            "done_by": str,
            "note": str,
            "created_at": str,
            "call_again_on": str,  # a person moved the call to this day; analyze keeps due_at and never this
        },
        pk="id",
        foreign_keys=(("business_id", "businesses", "id"), ("job_id", "jobs", "id"), ("review_id", "reviews", "id")),
        indexes=(("due_at",), ("job_id",), ("done_at", "due_at")),
        description="Calls to make after a job, routine or urgent after a complaint.",
    ),
)

# The crawl fleet's writer: what each stored batch counted, committed with it, so a batch stored again after
# the writer was killed between its commit and its note in Redis counts its new and updated reviews once.
TABLES += (
    Table(
        "fleet_batches",
        {"batch": str, "crawl_id": str, "source_id": str, "new": int, "updated": int, "stored_at": str},
        pk=("batch", "crawl_id", "source_id"),
        not_null=frozenset({"new", "updated", "stored_at"}),
        description="What each batch the crawl fleet's writer stored counted per source (kept a week).",
    ),
)

# Theme names in each language, for SQL that shows themes (the dashboard); written from themes.toml by db.py.
TABLES += (
    Table(
        "theme_labels",
        {"theme": str, "lang": str, "label": str},
        pk=("theme", "lang"),
        description="Each theme's name in each language repmon speaks.",
    ),
)

# Crawl walks and page statistics: what makes an interrupted crawl resumable, and the platform's own figures.
TABLES += (
    Table(
        "source_walks",
        {
            "source_id": str,
            "walk_started_at": str,
            "walk_full": int,
            "last_page": int,
            "last_url": str,
            "walk_complete": int,
            "updated_at": str,
        },
        pk="source_id",
        foreign_keys=(("source_id", "sources", "id"),),
        not_null=frozenset({"walk_started_at", "last_page", "walk_complete"}),
        description="Where the latest walk through each source's pages got to, committed with that page's reviews: "
        "a crawl that was killed resumes from here.",
    ),
    Table(
        "source_stats",
        {
            "source_id": str,
            "observed_at": str,
            "trust_score": float,
            "stars": float,
            "number_of_reviews": int,
            "one_star": int,
            "two_stars": int,
            "three_stars": int,
            "four_stars": int,
            "five_stars": int,
        },
        pk=("source_id", "observed_at"),
        foreign_keys=(("source_id", "sources", "id"),),
        description="The platform's own figures for a source (TrustScore, review count, star distribution), "
        "a row each time they change.",
    ),
)

# What matching estimated from each business's own jobs and reviews (monitor/estimate.py), rewritten by every analyze.
TABLES += (
    Table(
        "match_estimates",
        {
            "business_id": str,
            "estimated_at": str,
            "reviews": int,  # reviews the figures were estimated on
            "labelled": int,  # of which a person confirmed a job or said "not our customer"
            "candidates": int,  # (review, job) pairs weighed
            "never_customer_share": float,  # reviews about none of the business's jobs
            "iterations": int,
            "converged": int,
            "m": str,  # JSON: each comparison level's chance when the review is about the job
            "u": str,  # JSON: its chance when it is not (estimated levels; term-frequency levels use the customer list)
            "weights": str,  # JSON: the log-odds each signal adds, as matches.reasons shows them
            "job_words": str,  # JSON: the business's most telling words for its job types, with their log lift
            "site_habits": str,  # JSON: per review source, how much more often (log) than on all of them its reviewers sign in each form
        },
        pk="business_id",
        foreign_keys=(("business_id", "businesses", "id"),),
        description="Matching's figures for each business, estimated from its own jobs and reviews on every analyze.",
    ),
)

# Reply drafts for complaints, written by analyze (monitor/replies.py); a used draft is the owner's record and is kept.
TABLES += (
    Table(
        "reply_drafts",
        {
            "id": str,
            "review_id": str,
            "business_id": str,
            "variant": str,  # specific, contact, general, which_job, no_money
            "lang": str,
            "text": str,
            "inputs_hash": str,  # what the draft was built from; a change rebuilds the unused drafts
            "created_at": str,
            "used_at": str,  # NULL until the owner answers with this draft
            "used_by": str,
        },
        pk="id",
        foreign_keys=(("review_id", "reviews", "id"), ("business_id", "businesses", "id")),
        not_null=frozenset({"review_id", "variant", "lang", "text", "inputs_hash", "created_at"}),
        indexes=(("review_id", "variant"), ("used_at",)),
        description="Reply drafts for each unanswered complaint in the review's language, one row per variant; "
        "used_at records the draft the owner answered with.",
    ),
)

TABLES_BY_NAME = {table.name: table for table in TABLES}

# Full-text search: table -> searchable columns. unicode61 with diacritics folded so
# "Muller" finds "Müller"; no stemmer, because reviews come in five languages.
FTS = {"reviews": ("title", "body", "reply_body")}
FTS_TOKENIZE = "unicode61 remove_diacritics 2"

# Views: findings that depend on the clock are computed when read.
VIEWS = {
    "unanswered_complaints": """
SELECT r.id AS review_id, r.business_id, r.source, r.url, r.author, r.rating, r.title, r.body, r.lang,
       r.published_at, CAST((julianday('now') - julianday(r.published_at)) * 24 AS INTEGER) AS age_hours,
       m.job_id, j.customer_name, j.job_type, j.crew
FROM reviews r
JOIN businesses b ON b.id = r.business_id
LEFT JOIN matches m ON m.review_id = r.id AND m.status IN ('auto', 'confirmed')
LEFT JOIN jobs j ON j.id = m.job_id
WHERE r.complaint = 1 AND r.reply_body IS NULL AND r.removed_at IS NULL AND r.handled_at IS NULL  -- reviews_open_complaints
  AND r.source NOT LIKE 'http%'  -- a feed entry: nobody can reply there
  AND julianday('now') - julianday(r.published_at) > COALESCE(b.reply_deadline_hours, 48) / 24.0
""".strip(),
    # What the explorer's action buttons write to: one row per decision, checked and carried out by the
    # triggers below, so an action on something that does not exist or has nothing to change writes nothing.
    "explorer_actions": "SELECT NULL AS action, NULL AS review_id, NULL AS job, NULL AS pattern_id, "
    "NULL AS follow_up_id, NULL AS note, NULL AS who, NULL AS at, NULL AS due",
}

# Partial indexes for what the explorer asks most: open complaints are a sliver of a million reviews.
PARTIAL_INDEXES = {
    # Covers what the unanswered count reads, so counting needs no table lookups.
    "reviews_open_complaints_v2": "CREATE INDEX IF NOT EXISTS [reviews_open_complaints_v2] ON [reviews] "
    "(published_at, business_id, source) "
    "WHERE complaint = 1 AND reply_body IS NULL AND removed_at IS NULL AND handled_at IS NULL",
    # Open follow-ups in the order the follow_ups_due query lists them: urgent first, then by due date.
    "follow_ups_open": "CREATE INDEX IF NOT EXISTS [follow_ups_open] ON [follow_ups] ((kind = 'routine'), due_at) "
    "WHERE done_at IS NULL",
}

# Triggers that keep a person's decisions whole whichever way they are written (explorer actions
# are single SQL statements).
TRIGGERS = {
    "matches_confirmed_replaces_proposals": """
CREATE TRIGGER IF NOT EXISTS [matches_confirmed_replaces_proposals] AFTER INSERT ON [matches]
WHEN new.status = 'confirmed' BEGIN
  DELETE FROM matches WHERE review_id = new.review_id AND id != new.id AND status IN ('auto', 'ambiguous', 'unmatched');
END""".strip(),
    "matches_confirmed_update_replaces_proposals": """
CREATE TRIGGER IF NOT EXISTS [matches_confirmed_update_replaces_proposals] AFTER UPDATE OF status ON [matches]
WHEN new.status = 'confirmed' BEGIN
  DELETE FROM matches WHERE review_id = new.review_id AND id != new.id AND status IN ('auto', 'ambiguous', 'unmatched');
END""".strip(),
    "explorer_action_unknown": """
CREATE TRIGGER IF NOT EXISTS [explorer_action_unknown] INSTEAD OF INSERT ON [explorer_actions]
WHEN new.action NOT IN ('confirm_match', 'reject_match', 'mark_complaint_handled', 'acknowledge_pattern',
                        'close_pattern', 'follow_up_done', 'not_customer', 'follow_up_reschedule') BEGIN
  SELECT RAISE(ABORT, 'Unknown action: nothing was saved.');
END""".strip(),
    "explorer_action_match": """
CREATE TRIGGER IF NOT EXISTS [explorer_action_match] INSTEAD OF INSERT ON [explorer_actions]
WHEN new.action IN ('confirm_match', 'reject_match') BEGIN
  SELECT RAISE(ABORT, 'There is no such review: nothing was saved.')
  WHERE NOT EXISTS (SELECT 1 FROM reviews WHERE id = new.review_id);
  SELECT RAISE(ABORT, 'This business has no job with that number: nothing was saved.')
  WHERE NOT EXISTS (SELECT 1 FROM reviews r JOIN jobs j ON j.business_id = r.business_id WHERE r.id = new.review_id AND (j.id = new.job OR j.job_id = new.job));
  INSERT INTO matches (id, review_id, job_id, status, decided_by, decided_at, updated_at)
  SELECT new.review_id || '>' || j.id, new.review_id, j.id,
         CASE new.action WHEN 'confirm_match' THEN 'confirmed' ELSE 'rejected' END, new.who, new.at, new.at
  FROM reviews r JOIN jobs j ON j.business_id = r.business_id WHERE r.id = new.review_id AND (j.id = new.job OR j.job_id = new.job)
  ORDER BY j.id = new.job DESC LIMIT 1
  ON CONFLICT(id) DO UPDATE SET status = excluded.status, decided_by = excluded.decided_by,
                                decided_at = excluded.decided_at;
END""".strip(),
    "explorer_action_complaint": """
CREATE TRIGGER IF NOT EXISTS [explorer_action_complaint] INSTEAD OF INSERT ON [explorer_actions]
WHEN new.action = 'mark_complaint_handled' BEGIN
  SELECT RAISE(ABORT, 'There is no such complaint: nothing was saved.')
  WHERE NOT EXISTS (SELECT 1 FROM reviews WHERE id = new.review_id AND complaint = 1);
  SELECT RAISE(ABORT, 'This complaint is already marked as handled: nothing was changed.')
  WHERE EXISTS (SELECT 1 FROM reviews WHERE id = new.review_id AND handled_at IS NOT NULL);
  UPDATE reviews SET handled_at = new.at, handled_by = new.who WHERE id = new.review_id;
END""".strip(),
    "explorer_action_pattern": """
CREATE TRIGGER IF NOT EXISTS [explorer_action_pattern] INSTEAD OF INSERT ON [explorer_actions]
WHEN new.action IN ('acknowledge_pattern', 'close_pattern') BEGIN
  SELECT RAISE(ABORT, 'There is no such pattern: nothing was saved.')
  WHERE NOT EXISTS (SELECT 1 FROM patterns WHERE id = new.pattern_id);
  SELECT RAISE(ABORT, 'This pattern is already closed: nothing was changed.')
  WHERE EXISTS (SELECT 1 FROM patterns WHERE id = new.pattern_id AND closed_at IS NOT NULL);
  SELECT RAISE(ABORT, 'This pattern is already acknowledged: nothing was changed.')
  WHERE new.action = 'acknowledge_pattern'
    AND EXISTS (SELECT 1 FROM patterns WHERE id = new.pattern_id AND acknowledged_at IS NOT NULL);
  UPDATE patterns SET acknowledged_by = new.who, acknowledged_at = new.at
  WHERE id = new.pattern_id AND new.action = 'acknowledge_pattern';
  UPDATE patterns SET closed_by = new.who, closed_at = new.at
  WHERE id = new.pattern_id AND new.action = 'close_pattern';
END""".strip(),
    "explorer_action_follow_up": """
CREATE TRIGGER IF NOT EXISTS [explorer_action_follow_up] INSTEAD OF INSERT ON [explorer_actions]
WHEN new.action = 'follow_up_done' BEGIN
  SELECT RAISE(ABORT, 'There is no such follow-up call: nothing was saved.')
  WHERE NOT EXISTS (SELECT 1 FROM follow_ups WHERE id = new.follow_up_id);
  SELECT RAISE(ABORT, 'This call is already marked as done: nothing was changed.')
  WHERE EXISTS (SELECT 1 FROM follow_ups WHERE id = new.follow_up_id AND done_at IS NOT NULL);
  UPDATE follow_ups SET done_at = new.at, done_by = new.who, note = new.note WHERE id = new.follow_up_id;
END""".strip(),
    # "Not our customer": every proposal and decision for the review gives way to one row without a job,
    # which the matcher leaves alone (see match.run_matching).
    "explorer_action_not_customer": """
CREATE TRIGGER IF NOT EXISTS [explorer_action_not_customer] INSTEAD OF INSERT ON [explorer_actions]
WHEN new.action = 'not_customer' BEGIN
  SELECT RAISE(ABORT, 'There is no such review: nothing was saved.')
  WHERE NOT EXISTS (SELECT 1 FROM reviews WHERE id = new.review_id);
  SELECT RAISE(ABORT, 'This reviewer is already marked as not a customer: nothing was changed.')
  WHERE EXISTS (SELECT 1 FROM matches WHERE review_id = new.review_id AND status = 'rejected' AND job_id IS NULL);
  DELETE FROM matches WHERE review_id = new.review_id AND status != 'rejected';
  INSERT INTO matches (id, review_id, job_id, status, reasons, decided_by, decided_at, updated_at)
  VALUES (new.review_id || '>', new.review_id, NULL, 'rejected', '{"not_customer": true}', new.who, new.at, new.at);
END""".strip(),
    "explorer_action_follow_up_reschedule": """
CREATE TRIGGER IF NOT EXISTS [explorer_action_follow_up_reschedule] INSTEAD OF INSERT ON [explorer_actions]
WHEN new.action = 'follow_up_reschedule' BEGIN
  SELECT RAISE(ABORT, 'There is no such follow-up call: nothing was saved.')
  WHERE NOT EXISTS (SELECT 1 FROM follow_ups WHERE id = new.follow_up_id);
  SELECT RAISE(ABORT, 'This call is already marked as done: nothing was changed.')
  WHERE EXISTS (SELECT 1 FROM follow_ups WHERE id = new.follow_up_id AND done_at IS NOT NULL);
  SELECT RAISE(ABORT, 'Give the day as YYYY-MM-DD: nothing was saved.')
  WHERE new.due IS NULL OR new.due NOT GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]' OR date(new.due) IS NULL;
  UPDATE follow_ups SET call_again_on = new.due, note = COALESCE(new.note, note) WHERE id = new.follow_up_id;
END""".strip(),
}
