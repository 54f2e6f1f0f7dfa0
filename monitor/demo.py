"""`repmon demo`: a believable Danish plumbing and bathroom firm, its sites served on 127.0.0.1, the real pipeline.

The world is generated from a seed and today's date: about 1,000 jobs over two years in a
Danish accounting export, about 400 reviews and mentions on a Trustpilot-style site, a
schema.org directory profile and a news/forum feed. Planted in it: a leak pattern after
bathroom jobs by one crew, discovered weeks after completion; unanswered complaints; a
complaint from a customer with an overdue invoice; a burst of low ratings from
non-customers; edited reviews and late replies; a directory page with broken markup.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from monitor.loopback import LoopbackSite, Page
from monitor.sample_sites import rss_feed, trustpilot_listing
from monitor.synthetic import FIRST_NAMES, generate

BUSINESS = "Hansen VVS & Bad ApS"
DOMAIN = "hansen-vvs.dk"
PATTERN_CREW = "Kasper"
PATTERN_JOB_TYPE = "Badeværelse"
EXPORT_COLUMNS = {
    "Ordrenr.": "job_id", "Kunde": "customer_name", "E-mail": "customer_email", "Telefon": "customer_phone", "Adresse": "address",
    "Postnr.": "postcode", "By": "city", "Opgavetype": "job_type", "Montør": "crew", "Materialer": "materials",
    "Startdato": "started_at", "Afsluttet": "completed_at", "Fakturanr.": "invoice_no", "Beløb": "amount",
    "Forfald": "due_at", "Betalt": "paid_at",
}
PRAISE = {
    "da": ["Super service og flot arbejde, kan varmt anbefales.", "Hurtig, venlig og ordentlig. Tak for hjælpen.",
           "Meget tilfreds med det nye badeværelse.", "Punktlige folk der ryddede pænt op efter sig."],
    "nb": ["Flott arbeid og hyggelige folk, anbefales.", "Rask og ryddig jobb, takk."],
    "sv": ["Snabbt och noggrant arbete, rekommenderas.", "Mycket nöjd med det nya badrummet."],
    "de": ["Schnelle und saubere Arbeit, sehr empfehlenswert.", "Freundliche Monteure, alles bestens."],
    "en": ["Great service and tidy work, highly recommended.", "Quick, friendly and professional."],
}
BACKGROUND_COMPLAINTS = {  # scattered complaints of many themes: the normal noise of a busy firm
    "da": ["Montøren kom to timer for sent.", "Regningen blev dyrere end aftalt.", "De efterlod støv i gangen.",
           "Dårlig kommunikation om tidsplanen."],
    "de": ["Der Monteur kam zu spät.", "Die Rechnung war teurer als vereinbart."],
    "sv": ["Montören var otrevlig.", "Jobbet blev försenat en vecka."],
    "nb": ["De ryddet ikke etter seg."],
    "en": ["They were late and did not call."],
}
LEAK_COMPLAINTS = [  # written one to three months after each job (see build): no text names a shorter time
    "Længe efter det nye badeværelse var færdigt, kom der vand under gulvet ved bruseren.",
    "Fugt i væggen bag bruseren måneder efter renoveringen. Nu kommer der skimmel.",
    "Utæt afløb i det nye badeværelse, det drypper ned i kælderen.",
    "Vandskade under fliserne, et godt stykke tid efter de var færdige.",
    "Lækage ved bruseniche, opdaget flere uger efter. Vi har ringet to gange.",
]
NON_CUSTOMERS = ["Lars Winther", "Pia Strandgaard", "Ib Kolding", "Tove Brinch"]


@dataclass
class DemoWorld:
    jobs_csv: bytes
    pages: dict[str, Page]
    planted: dict[str, Any] = field(default_factory=dict)


def _utc(day: date, hour: int = 10) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00.000Z"


def build(today: date, seed: int = 2026) -> DemoWorld:
    """The demo world as of `today`: the jobs export and every page the sites serve."""
    rng = random.Random(seed)
    world = generate(seed=seed, jobs=1000, reviews=0, start=today - timedelta(days=730), days=716, business_id="demo")
    jobs = world.jobs
    for job in jobs:  # invoices: most paid within the month
        completed = date.fromisoformat(job["completed_at"])
        job["paid_at"] = (completed + timedelta(days=rng.randint(5, 35))).isoformat() if rng.random() < 0.97 else None
        job["materials"] = rng.choice(["Grohe", "Geberit", "Danfoss", "Nibe", "Unidrain"])
    planted: dict[str, Any] = {"leak_reviews": [], "unanswered": [], "answered": []}

    # The leak pattern: Kasper's bathroom jobs completed 75-110 days ago, complaints one to three months after each.
    recent = [j for j in jobs if 75 <= (today - date.fromisoformat(j["completed_at"])).days <= 110]
    leak_jobs = sorted(recent, key=lambda j: j["completed_at"])[::max(1, len(recent) // 5)][:5]
    for job in leak_jobs:  # the same crew fitted these bathrooms
        job["crew"], job["job_type"] = PATTERN_CREW, PATTERN_JOB_TYPE
    reviews: list[dict[str, Any]] = []
    for number, (job, text) in enumerate(zip(leak_jobs, LEAK_COMPLAINTS)):
        # Over the last 45 days, each weeks after its job: the third makes it a pattern 27 days ago.
        published = today - timedelta(days=45 - 9 * number)
        review = {"id": f"7d0{number:021d}", "rating": rng.choice([1, 2]), "title": "Vand og fugt efter badeværelset",
                  "text": text, "language": "da", "published": _utc(published), "experienced": _utc(date.fromisoformat(job["completed_at"]), 0),
                  "author": job["customer_name"], "country": "DK"}
        if number >= 3:  # two of them got an answer, one of them late
            review["reply"] = {"message": "Vi er kede af det og kommer ud i denne uge. Mvh Hansen VVS",
                               "published": _utc(published + timedelta(days=1 if number == 3 else 5))}
            planted["answered"].append(f"trustpilot:{review['id']}")
        else:
            planted["unanswered"].append(f"trustpilot:{review['id']}")
        planted["leak_reviews"].append(f"trustpilot:{review['id']}")
        reviews.append(review)

    # A customer with an overdue invoice complains when reminded.
    debtor = next(j for j in sorted(jobs, key=lambda j: j["completed_at"], reverse=True)
                  if 50 <= (today - date.fromisoformat(j["completed_at"])).days <= 70 and j not in leak_jobs)
    debtor["paid_at"] = None
    debtor["due_at"] = (date.fromisoformat(debtor["completed_at"]) + timedelta(days=14)).isoformat()
    dispute = {"id": "7d1000000000000000000001", "rating": 1, "title": "Rykker for et arbejde der ikke er færdigt",
               "text": "Nu sender de en rykker på fakturaen, men der mangler stadig lister. Vi betaler ikke før det er færdigt.",
               "language": "da", "published": _utc(today - timedelta(days=6)), "author": debtor["customer_name"], "country": "DK"}
    reviews.append(dispute)
    planted["dispute"] = f"trustpilot:{dispute['id']}"
    planted["unanswered"].append(planted["dispute"])

    # A burst of one-star reviews from people who were never customers.
    for number, name in enumerate(NON_CUSTOMERS):
        reviews.append({"id": f"7d2{number:021d}", "rating": 1, "title": "Elendig", "text": "Elendig firma, undgå dem.",
                        "language": "da", "published": _utc(today - timedelta(days=9 - 2 * number)), "author": name,
                        "country": "DK", "reply": {"message": "Vi kan ikke finde dig i vores kundeliste. Ring gerne.",
                                                   "published": _utc(today - timedelta(days=8 - 2 * number))}})
    planted["burst"] = [f"trustpilot:7d2{n:021d}" for n in range(len(NON_CUSTOMERS))]

    # Everyone else: mostly praise, a little scattered criticism, some edited, some answered late.
    customers = [j for j in jobs if j not in leak_jobs and j is not debtor]
    tp_reviews, directory_reviews = [], []
    for number in range(330):
        job = rng.choice(customers)
        completed = date.fromisoformat(job["completed_at"])
        published = completed + timedelta(days=rng.choice([rng.randint(1, 20)] * 6 + [rng.randint(21, 60)]))
        if published >= today - timedelta(days=2):
            continue
        lang = rng.choices(["da", "de", "sv", "nb", "en"], weights=[70, 10, 10, 5, 5])[0]
        text = rng.choice(PRAISE[lang])
        review = {"id": f"6c{number:022d}", "rating": rng.choice([4, 5, 5]),
                  "title": text.split(",")[0].split(".")[0], "text": text, "language": lang,
                  "published": _utc(published), "author": job["customer_name"],
                  "country": {"da": "DK", "de": "DE", "sv": "SE", "nb": "NO", "en": "GB"}[lang]}
        if rng.random() < 0.3:
            late = rng.random() < 0.3
            review["reply"] = {"message": "Tak for din anmeldelse!", "published": _utc(published + timedelta(days=6 if late else 1))}
        if rng.random() < 0.05:
            review["updated"] = _utc(published + timedelta(days=3))
        (directory_reviews if rng.random() < 0.25 else tp_reviews).append(review)
    # Scattered criticism: every 15th review over the two years, the themes taking turns, so no theme
    # clusters by chance (a pattern here would be a false one), most of them answered the next day.
    background = [(lang, text) for lang, texts in BACKGROUND_COMPLAINTS.items() for text in texts]
    ordinary = sorted(tp_reviews + directory_reviews, key=lambda r: r["published"])
    for turn, review in enumerate(ordinary[7::15]):
        lang, text = background[turn % len(background)]
        review.update(text=text, title=text.rstrip("."), language=lang, rating=rng.choice([2, 3]))
        review["reply"] = {"message": "Tak for din tilbagemelding, vi ringer til dig.", "published": review["published"]}
    reviews += tp_reviews
    reviews.sort(key=lambda r: r["published"], reverse=True)

    pages: dict[str, Page] = {"/robots.txt": Page(b"User-agent: *\nDisallow: /admin/\n", content_type="text/plain")}
    pages |= {path: Page(body) for path, body in trustpilot_listing(DOMAIN, BUSINESS, reviews, per_page=20).items()}

    directory_reviews.sort(key=lambda r: r["published"], reverse=True)
    per_directory_page = 10
    directory_pages = -(-len(directory_reviews) // per_directory_page)
    planted["broken_page"] = f"/firma/hansen-vvs-bad?side={min(3, directory_pages)}"
    for page in range(1, directory_pages + 1):
        chunk = directory_reviews[(page - 1) * per_directory_page: page * per_directory_page]
        path = "/firma/hansen-vvs-bad" + (f"?side={page}" if page > 1 else "")
        next_link = f"/firma/hansen-vvs-bad?side={page + 1}" if page < directory_pages else None
        broken = path == planted["broken_page"]
        pages[path] = Page(_directory_page(chunk, next_link, broken))
        if broken:
            planted["broken_reviews"] = [f"schemaorg:127.0.0.1:firma/hansen-vvs-bad/anmeldelse/{r['id']}" for r in chunk]
    planted["directory_reviews"] = len(directory_reviews)
    feed, planted["mentions"] = _feed(rng, today)
    pages["/lokalt/nyheder.rss"] = Page(feed, content_type="application/rss+xml; charset=utf-8", etag='"demo-1"')
    planted["leak_jobs"] = [j["job_id"] for j in leak_jobs]
    return DemoWorld(_export(jobs), pages, planted)


def _directory_page(reviews: list[dict[str, Any]], next_link: str | None, broken: bool) -> bytes:
    """A trade directory profile (anmeld-haandvaerker.dk style) with JSON-LD reviews and owner answers."""
    items = []
    for review in reviews:
        item = {"@type": "Review", "@id": f"https://www.haandvaerkerguiden.dk/firma/hansen-vvs-bad/anmeldelse/{review['id']}",
                "author": {"@type": "Person", "name": review["author"]}, "datePublished": review["published"][:10],
                "name": review["title"], "reviewBody": review["text"], "inLanguage": review["language"],
                "reviewRating": {"@type": "Rating", "ratingValue": review["rating"] * 2, "bestRating": 10, "worstRating": 0}}
        if review.get("reply"):
            item["comment"] = {"@type": "Comment", "author": {"@type": "Organization", "name": BUSINESS},
                               "dateCreated": review["reply"]["published"][:10], "text": review["reply"]["message"]}
        items.append(item)
    data = json.dumps({"@context": "https://schema.org", "@type": "Plumber", "name": BUSINESS, "review": items}, ensure_ascii=False)
    if broken:  # a template error on the site cut the block short
        data = data[: len(data) // 2]
    link = f'<link rel="next" href="{next_link}">' if next_link else ""
    return (f'<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>{BUSINESS} | Håndværkerguiden</title>{link}'
            f'<script type="application/ld+json">{data}</script></head><body><h1>{BUSINESS}</h1>'
            f'<p>{len(reviews)} anmeldelser på denne side</p></body></html>').encode("utf-8")


def _feed(rng: random.Random, today: date) -> tuple[bytes, list[str]]:
    """Local news and forum posts: some mention the firm, in several languages; most do not."""
    mentioning = [
        ("Forum: erfaringer med Hansen VVS & Bad?", "Vi overvejer Hansen VVS til nyt badeværelse. Nogen erfaringer?"),
        ("Hansen VVS' nye afdeling i Flensburg", "Hansen VVS eröffnet eine Filiale in Flensburg."),
        ("Fuktskade etter baderom fra Hansen VVS", "Har noen andre fått fukt i veggen etter Hansen VVS?"),
        ("Hansen VVS-montører hjalp ved oversvømmelse", "Lokale håndværkere fra Hansen VVS hjalp under skybruddet."),
    ]
    others = [("Byrådet vedtager ny cykelsti", "Cykelstien langs åen bliver forlænget."),
              ("Hansenberg Tømrer åbner i Tilst", "Ny tømrer i byen."),
              ("Skybrud ramte Risskov", "Mange kældre stod under vand."),
              ("Loppemarked i weekenden", "Kom og gør et godt køb.")]
    entries, mentions = [], []
    for number, (title, text) in enumerate(mentioning + others):
        when = datetime.combine(today - timedelta(days=3 + 5 * number), datetime.min.time(), tzinfo=timezone.utc)
        entries.append({"guid": f"lokalavis-{number}", "title": title, "link": f"https://lokalavisen.example.dk/a/{number}",
                        "description": text, "pubDate": format_datetime(when), "author": rng.choice(FIRST_NAMES)})
        if number < len(mentioning):
            mentions.append(title)
    return rss_feed("Lokalavisen: nyheder og forum", "https://lokalavisen.example.dk/", entries), mentions


def _export(jobs: list[dict[str, Any]]) -> bytes:
    """The accounting system's export: Danish column names, ';', decimal commas, dd-mm-yyyy, Windows-1252."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for job in jobs:
        row = []
        for field_name in EXPORT_COLUMNS.values():
            value = job.get(field_name)
            if field_name in ("started_at", "completed_at", "due_at", "paid_at") and value:
                value = date.fromisoformat(value).strftime("%d-%m-%Y")
            elif field_name == "amount" and value is not None:
                value = f"{value:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
            row.append("" if value is None else value)
        writer.writerow(row)
    return out.getvalue().encode("cp1252")


def config_text(site: LoopbackSite) -> str:
    """monitor.toml for the demo business, its sources on the loopback site, alerts to the site's receiver."""
    columns = "\n".join(f'  "{column}" = "{field}"' for column, field in EXPORT_COLUMNS.items())
    return f"""# Written by `repmon demo`: the demo business, its sources on 127.0.0.1 and an alert receiver.
[crawl]
user_agent = "repmon-demo/0.1 (contact: demo@example.dk)"
download_delay = 0
autothrottle = false

[[business]]
name = "{BUSINESS}"
aliases = ["Hansen VVS", "{DOMAIN}"]
country = "DK"
languages = ["da", "de", "sv", "nb", "en"]

  [[business.source]]
  kind = "trustpilot"
  name = "Trustpilot"
  url = "{site.url(f'/review/{DOMAIN}')}"

  [[business.source]]
  kind = "schemaorg"
  name = "Håndværkerguiden"
  url = "{site.url('/firma/hansen-vvs-bad')}"

  [[business.source]]
  kind = "feed"
  name = "Lokalavisen"
  url = "{site.url('/lokalt/nyheder.rss')}"

  [[business.channel]]
  name = "demo-indbakke"
  url = "json://127.0.0.1:{site.port}/alerts"

  [business.jobs_columns]
{columns}
"""
