"""Pages in the formats repmon reads, built from review dicts: for the demo, tests and benchmarks.

The Trustpilot page reproduces what the live site embeds: a Next.js `__NEXT_DATA__`
JSON (props.pageProps.reviews, businessUnit with trustScore and numberOfReviews, filters
with pagination, the selected sort and reviewStatistics.ratings) beside a schema.org
JSON-LD @graph, in HTML whose class names are hashed.
"""

from __future__ import annotations

import html
import json
from typing import Any
from xml.sax.saxutils import escape


def _script_json(data: Any) -> str:
    # Next.js escapes '<' so that review text cannot close the script element.
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def trustpilot_review(review: dict[str, Any]) -> dict[str, Any]:
    """One review in the shape of pageProps.reviews[]."""
    reply = review.get("reply")
    return {
        "id": review["id"],
        "filtered": False,
        "isPending": False,
        "text": review.get("text", ""),
        "rating": review["rating"],
        "labels": {"merged": None, "verification": {"isVerified": review.get("verified", False),
                                                     "createdDateTime": review["published"],
                                                     "reviewSourceName": "Organic", "verificationSource": "invitation",
                                                     "verificationLevel": "verified" if review.get("verified") else "not-verified",
                                                     "hasDachExclusion": False}},
        "title": review.get("title", ""),
        "likes": 0,
        "dates": {
            "experiencedDate": review.get("experienced"),
            "publishedDate": review["published"],
            "updatedDate": review.get("updated"),
            "submittedDate": None,
        },
        "report": None,
        "hasUnhandledReports": False,
        "consumer": {
            "id": "c" + review["id"][-12:],
            "displayName": review["author"],
            "imageUrl": "",
            "numberOfReviews": review.get("author_reviews", 1),
            "countryCode": review.get("country", "DK"),
            "hasImage": False,
            "isVerified": review.get("reviewer_verified", False),
        },
        "reply": None if not reply else {
            "message": reply["message"],
            "publishedDate": reply["published"],
            "updatedDate": None,
        },
        "consumersReviewCountOnSameDomain": 1,
        "consumersReviewCountOnSameLocation": None,
        "productReviews": [],
        "language": review.get("language", "da"),
        "location": None,
    }


STAR_NAMES = ("one", "two", "three", "four", "five")


def star_counts(reviews: list[dict[str, Any]]) -> dict[str, int]:
    """reviewStatistics.ratings of a listing: the total and the count per star."""
    counts = {"total": len(reviews)} | {star: 0 for star in STAR_NAMES}
    for review in reviews:
        counts[STAR_NAMES[int(review["rating"]) - 1]] += 1
    return counts


def trustpilot_path(domain: str, page: int) -> str:
    """The path and query repmon asks for page `page` of a company's reviews (all languages, newest first)."""
    return f"/review/{domain}?languages=all&sort=recency" + (f"&page={page}" if page > 1 else "")


def trustpilot_listing(domain: str, name: str, reviews: list[dict[str, Any]], per_page: int = 20,
                       trust_score: float = 3.9) -> dict[str, bytes]:
    """Every page of a company's listing of `reviews` (newest first), by path; page 1 also without a query."""
    total_pages = max(1, -(-len(reviews) // per_page))
    ratings = star_counts(reviews)
    pages = {
        trustpilot_path(domain, page): trustpilot_page(domain, name, reviews[(page - 1) * per_page: page * per_page],
                                                       page, total_pages, len(reviews), trust_score=trust_score,
                                                       ratings=ratings, per_page=per_page)
        for page in range(1, total_pages + 1)
    }
    pages[f"/review/{domain}"] = pages[trustpilot_path(domain, 1)]
    return pages


def trustpilot_page(domain: str, name: str, reviews: list[dict[str, Any]], page: int, total_pages: int,
                    total_count: int, origin: str = "https://dk.trustpilot.com", trust_score: float = 3.9,
                    ratings: dict[str, int] | None = None, sort: str = "recency", per_page: int = 20) -> bytes:
    """A company page (`/review/<domain>?page=N`) holding `reviews`; `ratings` as from star_counts()."""
    ratings = ratings or star_counts(reviews) | {"total": total_count}
    props = {
        "props": {
            "pageProps": {
                "businessUnit": {
                    "id": "5f" + domain.encode().hex()[:22],
                    "displayName": name,
                    "identifyingName": domain,
                    "numberOfReviews": total_count,
                    "trustScore": trust_score,
                    "stars": round(trust_score * 2) / 2,
                    "isClaimed": True,
                    "websiteUrl": f"https://www.{domain}",
                },
                "reviews": [trustpilot_review(r) for r in reviews],
                "filters": {
                    "hasActiveFilters": False,
                    "totalNumberOfReviews": total_count,
                    "totalNumberOfFilteredReviews": total_count,
                    "pagination": {"currentPage": page, "perPage": per_page, "totalCount": total_count,
                                   "totalPages": total_pages},
                    "selected": {"languages": "all", "date": None, "stars": None, "aspects": None, "topics": None,
                                 "search": None, "locationId": None, "sort": sort, "verified": False, "replies": False},
                    "reviewStatistics": {
                        "hasMultipleLanguages": len({r.get("language", "da") for r in reviews}) > 1,
                        "reviewLanguages": [],
                        "ratings": ratings,
                    },
                },
                "pageUrl": f"{origin}/review/{domain}",
            },
            "__N_SSP": True,
        },
        "page": "/review/[businessUnit]",
        "query": {"businessUnit": domain, "languages": "all", "sort": sort, "page": str(page)},
        "buildId": "businessunitprofile-consumersite-2026.11.2",
        "isFallback": False,
        "gssp": True,
        "locale": "da-DK",
    }
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "@id": f"{origin}/#/schema/Organization/1", "name": "Trustpilot"},
            {"@type": "LocalBusiness", "@id": f"{origin}/#/schema/Organization/{domain}", "name": name,
             "aggregateRating": {"@type": "AggregateRating", "bestRating": "5", "worstRating": "1",
                                 "ratingValue": str(trust_score), "reviewCount": str(total_count)}},
            *[
                {"@type": "Review", "@id": f"{origin}/#/schema/Review/{domain}/{r['id']}",
                 "itemReviewed": {"@id": f"{origin}/#/schema/Organization/{domain}"},
                 "author": {"@type": "Person", "name": r["author"]},
                 "datePublished": r["published"], "headline": r.get("title", ""), "reviewBody": r.get("text", ""),
                 "reviewRating": {"@type": "Rating", "bestRating": "5", "worstRating": "1", "ratingValue": str(r["rating"])},
                 "inLanguage": r.get("language", "da")}
                for r in reviews
            ],
        ],
    }
    cards = "\n".join(
        f'<article class="styles_reviewCard__hcAvl"><section class="styles_reviewContentwrapper__zH_9M">'
        f'<h2 class="typography_heading-s__f7029">{html.escape(r.get("title", ""))}</h2>'
        f'<p class="typography_body-l__KUYFJ">{html.escape(r.get("text", ""))}</p></section></article>'
        for r in reviews
    )
    return f"""<!DOCTYPE html><html lang="da"><head><meta charSet="utf-8"/>
<title>{html.escape(name)} anmeldelser | Læs kundernes anmeldelser af {html.escape(domain)}</title>
<script type="application/ld+json" data-business-unit-json-ld="true">{_script_json(graph)}</script>
</head><body><div id="__next"><main class="styles_main__Y8Ahx">
<h1 class="typography_default__hIMlQ">{html.escape(name)}</h1>
{cards}
<nav class="pagination_pagination___F1qS"><a class="link_internal__7XN06" href="{html.escape(trustpilot_path(domain, page + 1))}">Næste side</a></nav>
</main></div>
<script id="__NEXT_DATA__" type="application/json">{_script_json(props)}</script>
</body></html>""".encode("utf-8")


def rss_feed(title: str, link: str, entries: list[dict[str, Any]]) -> bytes:
    """An RSS 2.0 feed; entries have guid, title, link, description (HTML allowed), pubDate (RFC 822)."""
    items = "\n".join(
        f"<item><guid isPermaLink=\"false\">{escape(e['guid'])}</guid><title>{escape(e['title'])}</title>"
        f"<link>{escape(e['link'])}</link><description>{escape(e['description'])}</description>"
        f"<pubDate>{e['pubDate']}</pubDate>{_author(e)}</item>"
        for e in entries
    )
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>{escape(link)}</link><description>{escape(title)}</description>\n{items}\n</channel></rss>").encode("utf-8")


def _author(entry: dict[str, Any]) -> str:
    return f"<author>{escape(entry['author'])}</author>" if entry.get("author") else ""
