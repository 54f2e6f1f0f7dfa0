"""The `repmon` command line: thin wrappers that parse options and call the modules."""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import sys
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from dataclasses import dataclass, field
from pathlib import Path

import click
import sqlite_utils

from monitor import crawl as crawling
from monitor import imports
from monitor import match as matching
from monitor import schedule as schedule_module
from monitor import explorer
from monitor.config import Config, ConfigError, load_config
from monitor.db import DatabaseBusy, NotARepmonDatabase, check_database_file, database_lock, open_db, storage_fault
from monitor.store import ensure_business, slugify, sync_config

EXAMPLE_CONFIG = Path(__file__).parent / "example_config.toml"


EXIT_FAILED = 1  # something could not be done; what was done is kept
EXIT_USAGE = 2  # the command line or the configuration is wrong; nothing was done
EXIT_LOCKED = 75  # EX_TEMPFAIL: another repmon command holds the database; try again later


class ConfigProblem(click.ClickException):
    """A configuration error: exit code 2, like other usage errors."""

    exit_code = EXIT_USAGE


class Busy(click.ClickException):
    exit_code = EXIT_LOCKED


class CannotStart(click.ClickException):
    """Refused before any work, such as a port in use: exit code 2."""

    exit_code = EXIT_USAGE


class Repmon(click.Group):
    """The command group; a database the disk or file system refuses is told in one line, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except sqlite3.Error as error:
            app = ctx.find_object(App)
            cause = storage_fault(error, app.db_path if app else None)
            if cause is None:
                raise
            where = app.db_path if app else "the database"
            raise click.ClickException(f"{where}: {cause} ({error}); the step that failed saved nothing") from None
        except NotARepmonDatabase as error:
            raise click.ClickException(f"{error}; give the right file with --db") from None
        except OSError as error:
            if error.filename is None:
                raise
            raise click.ClickException(f"{error.filename}: {FILE_FAULTS.get(error.errno, error.strerror)}") from None


FILE_FAULTS = {
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied (this user cannot write there)",
    errno.EPERM: "permission denied (this user cannot write there)",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
}


@dataclass
class App:
    """What every command shares: where the database and the configuration are."""

    db_path: Path
    config_path: Path
    config_required: bool
    _config: Config | None = field(default=None, repr=False)

    def require_db(self) -> None:
        if not self.db_path.exists():
            raise click.ClickException(
                f"there is no repmon database at {self.db_path}: create it with `repmon init`, "
                f"or give the right file with --db or REPMON_DB")

    @contextmanager
    def lock(self, wait_seconds: float = 0) -> Iterator[None]:
        """The database's lock for commands that write findings or send alerts; exit 75 when it is taken
        (after waiting up to `wait_seconds` for it)."""
        import time

        self.require_db()
        check_database_file(self.db_path)  # no lock file beside a file that is not ours
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                held = database_lock(self.db_path)
                held.__enter__()
                break
            except DatabaseBusy as error:
                if time.monotonic() >= deadline:
                    raise Busy(str(error)) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            held.__exit__(None, None, None)

    @property
    def config(self) -> Config:
        """The validated configuration; loading fails before anything is written."""
        if self._config is None:
            try:
                self._config = load_config(self.config_path, required=self.config_required)
            except ConfigError as error:
                raise ConfigProblem(str(error)) from None
        return self._config

    def db(self, create: bool = False) -> sqlite_utils.Database:
        """The database, shaped, with the configured businesses and sources written.

        Only `init` and `demo` create one: a mistyped --db must not quietly start an empty database.
        """
        config = self.config
        if not create:
            self.require_db()
        database = open_db(self.db_path)
        sync_config(database, config)
        return database

    def business_id(self, database: sqlite_utils.Database, name: str | None) -> str:
        """The id of business `name`, creating it when it is not configured; the only one if None."""
        if name is None:
            if len(self.config.business) != 1:
                raise click.UsageError("name the business with --business NAME")
            name = self.config.business[0].name
        configured = self.config.find_business(name)
        return ensure_business(database, configured.name if configured else name, configured)


pass_app = click.make_pass_decorator(App)


def locked(command: Callable) -> Callable:
    """Run the command holding the database's lock: crawl, match, analyze, alert and run never overlap."""
    @functools.wraps(command)
    def holding_the_lock(app: App, *args, **kwargs):
        if kwargs.get("redis_url"):  # a fleet crawl locks only while it reads its sources: its writer stores
            return command(app, *args, **kwargs)
        with app.lock():
            return command(app, *args, **kwargs)
    return holding_the_lock


@click.group(cls=Repmon, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="repmon")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/monitor.db"),
    envvar="REPMON_DB",
    show_default=True,
    help="SQLite database file [env: REPMON_DB]",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("monitor.toml"),
    envvar="REPMON_CONFIG",
    show_default=True,
    help="Configuration file [env: REPMON_CONFIG]",
)
@click.pass_context
def cli(ctx: click.Context, db_path: Path, config_path: Path) -> None:
    """repmon: watch reviews of a trades business, tie them to jobs, and flag
    complaints, defect patterns and follow-ups.

    Start with `repmon init`, edit monitor.toml, then `repmon serve`.
    """
    explicit = ctx.get_parameter_source("config_path") is not click.core.ParameterSource.DEFAULT
    ctx.obj = App(db_path=db_path, config_path=config_path, config_required=explicit)


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing configuration file")
@pass_app
def init(app: App, force: bool) -> None:
    """Write an example monitor.toml (unless one exists) and create the database."""
    if app.config_path.exists() and not force:
        app.config_required = True
        app.config  # refuse an invalid file before anything is written
        click.echo(f"Keeping existing {app.config_path}")
    else:
        app.config_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLE_CONFIG, app.config_path)
        click.echo(f"Wrote {app.config_path}: an example to edit for your business")
    app.config_required = True
    database = app.db(create=True)
    businesses = database.table("businesses").count
    sources = database.table("sources").count
    click.echo(f"Database {app.db_path} is ready: {businesses} business(es), {sources} source(s)")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on")
@click.option("-p", "--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Port")
@click.option(
    "--metadata",
    "metadata_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=explorer.DEFAULT_METADATA,
    help="Datasette metadata file  [default: the metadata.yml repmon ships]",
)
@pass_app
def serve(app: App, host: str, port: int, metadata_path: Path) -> None:
    """Open the explorer (Datasette) on the database.

    Serves on 127.0.0.1 only, unless a password is configured in [explorer].
    """
    try:
        explorer.check_host(host, app.config)
        explorer.check_port(host, port)
    except explorer.ExplorerRefused as error:
        raise click.UsageError(str(error)) from None
    except explorer.PortInUse as error:
        raise CannotStart(str(error)) from None
    app.db().close()
    datasette = explorer.build_datasette(app.db_path, app.config, metadata_path)
    click.echo(f"repmon explorer on http://{host}:{port}/  (Ctrl+C to stop)")
    explorer.serve_forever(datasette, host, port)


@cli.command()
@click.option("--url", "urls", multiple=True, metavar="URL", help="Crawl this URL instead of the configured sources (repeatable)")
@click.option(
    "--parser",
    type=click.Choice(["auto", "trustpilot", "schemaorg", "feed"]),
    default="auto",
    show_default=True,
    help="How to read --url pages; auto decides from each response",
)
@click.option("--business", help="Business the --url reviews belong to; feeds keep only entries naming it")
@click.option("--full", is_flag=True, help="Walk every page again instead of stopping at known reviews")
@click.option("--max-pages", type=click.IntRange(1), help="Pages per source at most [default: from config]")
@click.option("--redis", "redis_url", metavar="URL",
              help="Queue the sources on a crawl fleet's Redis (redis://:PASSWORD@HOST:6379/0) and wait for it")
@pass_app
@locked
def crawl(app: App, urls: tuple[str, ...], parser: str, business: str | None, full: bool, max_pages: int | None,
          redis_url: str | None) -> None:
    """Gather reviews and mentions from every configured source, or from --url.

    Each source gets a health row in crawl_runs: ok, degraded or failed.
    With --redis, `repmon worker` nodes crawl and `repmon store` stores.
    """
    if redis_url:
        return _fleet_crawl(app, redis_url, urls, parser, business, full, max_pages)
    targets = _crawl_targets(app, urls, parser, business, full, max_pages)
    try:
        summary = crawling.run_crawl(app.db_path, targets, app.config.crawl)
    except crawling.CrawlFailed as error:
        raise click.ClickException(str(error)) from None
    _report_crawl(summary)


def _crawl_targets(app: App, urls: tuple[str, ...], parser: str, business: str | None, full: bool,
                   max_pages: int | None) -> list:
    """The sources a crawl walks: the configured ones, or the --url pages."""
    database = app.db()
    limit = max_pages or app.config.crawl.max_pages
    if urls:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--url")
        business_id = app.business_id(database, business) if business else None
        configured = app.config.find_business(business) if business else None
        names = [configured.name, *configured.aliases] if configured else ([business] if business else None)
        targets = crawling.targets_from_urls(database, list(urls), parser, business_id, names, limit, full)
    else:
        targets = crawling.targets_from_config(database, app.config, full)
        if max_pages:
            for target in targets:
                target.max_pages = max_pages
    database.close()
    if not targets:
        raise click.UsageError("no sources configured: add [[business.source]] to the config, or pass --url")
    return targets


def _report_crawl(summary: crawling.CrawlSummary) -> None:
    """Each source's health, a total line, and exit 1 when every source failed or records were dropped."""
    for run in summary.runs:
        lines = (run["message"] or "").splitlines()
        if run["status"] == "failed" and not run["pages"]:  # nothing was fetched: one line says why
            cause = lines[-1].removeprefix(f"{run['url']}: ") if len(lines) > 1 else (lines[0] if lines else "failed")
            click.echo(f"failed   {run['url']}: {cause}")
            continue
        click.echo(
            f"{run['status']:<8} {run['url']}: {run['pages']} pages, {run['reviews_seen']} reviews "
            f"({run['new']} new, {run['updated']} updated, {run['removed']} removed), {run['errors']} errors"
        )
        for line in lines:
            click.echo(f"         {line}")
    dropped = sum(run.get("dropped") or 0 for run in summary.runs)
    click.echo(
        f"{len(summary.runs)} sources: {summary.total('new')} new, {summary.total('updated')} updated, "
        f"{len(summary.degraded)} degraded, {len(summary.failed)} failed"
        + (f"; {dropped} malformed records dropped" if dropped else "")
    )
    if (summary.failed and len(summary.failed) == len(summary.runs)) or dropped:
        raise SystemExit(EXIT_FAILED)


# The crawl fleet on Redis ------------------------------------------------------------------------------

REDIS_OPTION = click.option("--redis", "redis_url", metavar="URL", envvar="REPMON_REDIS_URL", required=True,
                            help="The fleet's Redis, redis://:PASSWORD@HOST:6379/0 [env: REPMON_REDIS_URL]")


def _fleet(redis_url: str):
    from monitor import fleet

    try:
        return fleet, fleet.connect(redis_url)
    except fleet.FleetUnavailable as error:
        raise CannotStart(str(error)) from None


FLEET_LOCK_WAIT = 120  # seconds


def _fleet_crawl(app: App, redis_url: str, urls: tuple[str, ...], parser: str, business: str | None, full: bool,
                 max_pages: int | None) -> None:
    fleet, server = _fleet(redis_url)
    with app.lock(wait_seconds=FLEET_LOCK_WAIT):  # the fleet's writer holds it only for one batch at a time
        targets = _crawl_targets(app, urls, parser, business, full, max_pages)
    crawl = fleet.enqueue_crawl(server, targets)
    for url in crawl.already_walking:
        click.echo(f"skipped  {url}: the fleet is walking it already", err=True)
    click.echo(f"fleet: {len(crawl.source_ids)} sources queued on {fleet.safe_url(redis_url)} (crawl {crawl.crawl_id}); "
               "waiting for `repmon worker` nodes and `repmon store`", err=True)
    try:
        fleet.wait_for_crawl(server, crawl, lambda line: click.echo(line, err=True))
    except fleet.CrawlLost as error:
        raise click.ClickException(str(error)) from None
    _report_crawl(fleet.crawl_summary(app.db_path, crawl))


@cli.command()
@REDIS_OPTION
@click.option("--lease-seconds", type=click.FloatRange(1), default=30.0, show_default=True,
              help="How long a request stays this node's after it stops renewing it (kill -9, lost network)")
@click.option("--concurrency", type=click.IntRange(1), default=16, show_default=True,
              help="Requests this node keeps open at once, over all hosts")
@pass_app
def worker(app: App, redis_url: str, lease_seconds: float, concurrency: int) -> None:
    """Run a crawl node: fetch and parse what `repmon crawl --redis` queued.

    Needs no database; run any number, on any machine. Pauses between requests to a
    host ([crawl] download_delay) hold for the whole fleet.
    """
    fleet, server = _fleet(redis_url)
    server.close()
    from scrapy.crawler import CrawlerProcess

    from spiders.fleet import FleetSpider, fleet_settings
    from spiders.settings import scrapy_settings

    settings = fleet_settings(scrapy_settings(app.config.crawl, Path("")), redis_url, lease_seconds)
    settings["CONCURRENT_REQUESTS"] = concurrency
    process = CrawlerProcess(settings)
    click.echo(f"worker: taking requests from {fleet.safe_url(redis_url)} (Ctrl+C to stop)", err=True)
    process.crawl(process.create_crawler(FleetSpider))
    process.start()


@cli.command()
@REDIS_OPTION
@pass_app
def store(app: App, redis_url: str) -> None:
    """Be the fleet's one writer: store the pages its nodes hand over, each exactly once.

    Takes the database's lock for each batch, so analyze and match can run between
    batches; pages wait in Redis meanwhile.
    """
    fleet, server = _fleet(redis_url)
    app.require_db()
    import os
    import socket

    writer = fleet.Writer(server, app.db_path, app.config.crawl.max_error_rate,
                          f"{socket.gethostname()}:{os.getpid()}", lambda line: click.echo(line, err=True))
    click.echo(f"store: writing pages from {fleet.safe_url(redis_url)} into {app.db_path} (Ctrl+C to stop)", err=True)
    try:
        writer.run()
    except KeyboardInterrupt:
        pass
    finally:
        writer.close()


def _parse_maps(values: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for value in values:
        column, sep, job_field = value.partition("=")
        if not sep or not column.strip() or job_field.strip() not in imports.JOB_IMPORT_FIELDS:
            raise click.BadParameter(
                f"{value!r}: expected FILECOLUMN=field with field one of {', '.join(imports.JOB_IMPORT_FIELDS)}",
                param_hint="--map",
            )
        mapping[column.strip()] = job_field.strip()
    return mapping


def _print_report(report: imports.ImportReport, noun: str) -> None:
    for problem in report.problems:
        click.echo(f"{report.file}: {problem}", err=True)
    saved = report.saved
    click.echo(
        f"{report.file}: {report.rows} rows, {saved.new} new {noun}, {saved.updated} updated, "
        f"{saved.unchanged} unchanged, {len(report.problems)} problems"
    )


HEADER_ROW = click.option("--header-row", type=click.IntRange(min=1), metavar="N",
                          help="Row holding the column names [default: found among the first rows]")


@cli.group()
def jobs() -> None:
    """Completed jobs from your job/invoice system."""


@jobs.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--business", help="Business the jobs belong to (created if not configured)")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD", help="Map a file column to a job field (repeatable)")
@HEADER_ROW
@pass_app
def jobs_import(app: App, file: Path, business: str | None, maps: tuple[str, ...], header_row: int | None) -> None:
    """Import a CSV or XLSX job export; re-importing updates rows in place.

    Columns are mapped by [business.jobs_columns] in the config, by --map, or
    by being named as the fields (job_id, customer_name, completed_at, ...).
    """
    overrides = _parse_maps(maps)
    database = app.db()
    business_id = app.business_id(database, business)
    configured = app.config.find_business(business) if business else (app.config.business[0] if app.config.business else None)
    try:
        report = imports.import_jobs(database, file, business_id, configured.jobs_columns if configured else {}, overrides,
                                     header_row)
    except imports.ImportProblem as error:
        raise click.ClickException(str(error)) from None
    _print_report(report, "jobs")
    raise SystemExit(EXIT_FAILED if report.problems else 0)


@cli.group()
def reviews() -> None:
    """Reviews that do not come from a crawl."""


@reviews.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--business", help="Business the reviews are about (created if not configured)")
@HEADER_ROW
@pass_app
def reviews_import(app: App, file: Path, business: str | None, header_row: int | None) -> None:
    """Import reviews from CSV, JSON or JSONL (reviews column names), or a
    Google Business Profile reviews list (JSON).

    Same rules as crawled reviews: upsert on source and id, changes to history.
    """
    database = app.db()
    business_id = app.business_id(database, business)
    try:
        report = imports.import_reviews(database, file, business_id, header_row)
    except imports.ImportProblem as error:
        raise click.ClickException(str(error)) from None
    _print_report(report, "reviews")
    raise SystemExit(EXIT_FAILED if report.problems else 0)


@cli.command()
@pass_app
@locked
def match(app: App) -> None:
    """Tie each review to the job it is most likely about, with a score and reasons.

    Confirmed and rejected matches (set from the explorer) are kept as they are.
    """
    database = app.db()
    settings = {}
    for business in app.config.business:
        settings[slugify(business.name)] = matching.Settings(
            business.thresholds.match_threshold, business.thresholds.match_margin
        )
    totals = matching.run_matching(database, settings)
    click.echo(
        f"{totals['auto']} matched, {totals['ambiguous']} ambiguous, {totals['unmatched']} unmatched; "
        f"{totals['changed']} rows changed"
    )


@cli.command()
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Analyse as of this day [default: today]")
@pass_app
@locked
def analyze(app: App, today) -> None:
    """Find complaints, themes, matches, patterns, flags and follow-ups.

    Recomputes only what changed; a stage that fails is reported and the
    others still run (exit code 1).
    """
    from monitor.analyze import run_analysis

    database = app.db()
    summary = run_analysis(database, app.config, today.date() if today else None)
    text, patterns = summary.stages.get("text", {}), summary.stages.get("patterns", {})
    matched = summary.stages.get("match", {})
    click.echo(
        f"{text.get('analysed', 0)} reviews analysed ({text.get('unchanged', 0)} unchanged), "
        f"{text.get('new_complaints', 0)} new complaints; matches: {matched.get('auto', 0)} auto, "
        f"{matched.get('ambiguous', 0)} ambiguous, {matched.get('unmatched', 0)} unmatched; patterns: "
        f"{patterns.get('emerging', 0)} emerging, {patterns.get('ongoing', 0)} ongoing, {patterns.get('resolved', 0)} resolved"
    )
    for stage, error in summary.failed.items():
        click.echo(f"stage {stage} failed: {error}", err=True)
    if summary.failed:
        raise SystemExit(1)


@cli.command()
@click.argument("review_id")
@pass_app
def reply(app: App, review_id: str) -> None:
    """Print suggested replies to one review, by its id (the reviews table's `id`).

    A complaint gets its specific (or "which job?", or no-money) draft, contact
    and general; any other review gets thanks and a short thanks. In the
    review's language; nothing is stored. Exit 1 when no draft passes the
    platform rules.
    """
    from monitor.replies import drafts_for_review

    database = app.db()
    try:
        drafts = drafts_for_review(database, app.config, review_id)
    except KeyError:
        raise click.ClickException(f"there is no review {review_id!r}; the explorer's Reviews page lists them") from None
    for number, draft in enumerate(drafts):
        click.echo(f"{'' if number == 0 else chr(10)}--- {draft.variant} ({draft.lang}) ---\n{draft.text}")
    if not drafts:
        click.echo("no suggestion passes the platform rules for this review", err=True)
        raise SystemExit(EXIT_FAILED)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print what would be sent; record nothing")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="As of this day [default: today]")
@pass_app
@locked
def alert(app: App, dry_run: bool, today) -> None:
    """Send alerts for findings not yet alerted, once per channel.

    Deliveries that failed are retried on the next call.
    """
    from monitor.alerts import run_alerts

    database = app.db()
    summary = run_alerts(database, app.config, today.date() if today else None, dry_run, app.db_path.stem, click.echo)
    if dry_run:
        click.echo(f"{summary.pending} alerts would be sent")
        return
    unconfirmed = f", {summary.unconfirmed} may not have arrived" if summary.unconfirmed else ""
    click.echo(f"{summary.raised} new alerts, {summary.sent} sent, {summary.failed} failed{unconfirmed}")
    if summary.failed:
        raise SystemExit(1)


@cli.command()
@click.option("--full", is_flag=True, help="Walk every page of every source")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="As of this day [default: today]")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), help="Log file [default: beside the database]")
@click.option("--at", "local_time", metavar="'DAY HH:MM ZONE'",
              help="Do nothing unless it is this hour of the week in ZONE (how cron runs at the business's local time)")
@pass_app
def run(app: App, full: bool, today, log_path: Path | None, local_time: str | None) -> None:
    """Crawl, analyse and alert: the weekly job a scheduler calls.

    Exit codes: 0 done, 1 a stage failed (the others' work is kept), 2 nothing configured,
    75 another repmon command is using the database.
    """
    if local_time:
        try:
            day, clock, zone = local_time.split()
            when = schedule_module.Weekly.parse(day, clock)
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise click.BadParameter(f"{local_time!r}: expected a weekday, a time and a time zone, "
                                     f"like 'mon 06:00 Europe/Copenhagen'", param_hint="--at") from None
        if not when.is_now(zone):
            click.echo(f"{datetime.now(ZoneInfo(zone)):%Y-%m-%d %H:%M} in {zone}: the weekly run is at "
                       f"{when.describe()}; nothing to do now")
            return
    locked(_run)(app, full, today, log_path)


def _run(app: App, full: bool, today, log_path: Path | None) -> None:
    import logging
    import time

    from monitor.alerts import run_alerts
    from monitor.analyze import run_analysis

    started = time.monotonic()
    if not app.config.business:
        missing = f"there is no {app.config_path}" if not app.config_path.exists() else f"{app.config_path} names no business"
        raise ConfigProblem(f"nothing to run: {missing}; `repmon init` writes an example to edit")
    log_path = log_path or app.db_path.with_suffix(".log")
    handler = logging.FileHandler(log_path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("repmon")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    progress = sys.stdout.isatty()
    failed: dict[str, str] = {}
    figures: dict[str, object] = {}
    try:
        database = app.db()
        day = today.date() if today else None
        targets = crawling.targets_from_config(database, app.config, full)
        if progress:
            click.echo(f"crawling {len(targets)} sources ...")
        try:
            crawl = crawling.run_crawl(app.db_path, targets, app.config.crawl) if targets else crawling.CrawlSummary()
            figures |= {"sources": len(crawl.runs), "pages": crawl.total("pages"), "new": crawl.total("new"),
                        "updated": crawl.total("updated")}
            dropped = sum(row.get("dropped") or 0 for row in crawl.runs)
            if dropped:
                failed["crawl"] = f"{dropped} malformed review records dropped (see crawl_runs); the others are stored"
            for bad in crawl.failed + crawl.degraded:
                log.warning("crawl %s %s: %s", bad["status"], bad["url"], "; ".join((bad["message"] or "").splitlines()[:3]))
        except Exception as error:  # the crawl failed; analysis still runs on what is stored
            failed["crawl"] = str(error)
        if progress:
            click.echo("analysing ...")
        analysis = run_analysis(database, app.config, day)
        failed |= {f"analyze.{k}": v for k, v in analysis.failed.items()}
        figures["complaints"] = analysis.stages.get("text", {}).get("new_complaints", 0)
        figures["patterns"] = analysis.stages.get("patterns", {})
        if progress:
            click.echo("alerting ...")
        try:
            alerts = run_alerts(database, app.config, day, db_name=app.db_path.stem, echo=log.info)
            figures |= {"sent": alerts.sent, "alert_failures": alerts.failed}
            if alerts.failed:
                failed["alert"] = f"{alerts.failed} deliveries failed; they are retried on the next run"
        except Exception as error:
            failed["alert"] = str(error)
        for stage, error in failed.items():
            log.error("stage %s failed: %s", stage, error)
            click.echo(f"stage {stage} failed: {error}", err=True)
        patterns = figures.get("patterns") or {}
        line = (f"repmon run: {figures.get('sources', 0)} sources, {figures.get('pages', 0)} pages, "
                f"{figures.get('new', 0)} new and {figures.get('updated', 0)} updated reviews, "
                f"{figures.get('complaints', 0)} new complaints, {patterns.get('emerging', 0)} emerging and "
                f"{patterns.get('ongoing', 0)} ongoing patterns, {figures.get('sent', 0)} alerts sent, "
                f"{time.monotonic() - started:.1f} s")
        log.info(line)
        click.echo(line)
    finally:
        log.removeHandler(handler)
        handler.close()
    if failed:
        raise SystemExit(1)


@cli.group()
def schedule() -> None:
    """The weekly run: install, show or remove it (cron or systemd)."""


def schedule_places(fn):
    """--crontab and --unit-dir: where the schedule lives, for every schedule command."""
    fn = click.option("--unit-dir", type=click.Path(file_okay=False, path_type=Path),
                      default=schedule_module.DEFAULT_UNIT_DIR, show_default=True, help="Where systemd user units go")(fn)
    return click.option("--crontab", "crontab_file", type=click.Path(dir_okay=False, path_type=Path),
                        help="Use this crontab file instead of yours")(fn)


@schedule.command(name="install")
@click.option("--weekly", nargs=2, default=("mon", "06:00"), show_default=True, metavar="DAY HH:MM", help="When to run")
@click.option("--cron", "kind", flag_value="cron", default=True, help="A crontab entry (default)")
@click.option("--systemd", "kind", flag_value="systemd", help="A systemd user service and timer")
@schedule_places
@pass_app
def schedule_install(app: App, weekly: tuple[str, str], kind: str, crontab_file: Path | None, unit_dir: Path) -> None:
    """Run `repmon run` every week at the business's local time, replacing what repmon installed before
    (of either kind). Secrets the configuration names as ${VAR} go to an environment file readable by you only."""
    try:
        when = schedule_module.Weekly.parse(*weekly)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--weekly") from None
    app.config_required = True
    config = app.config  # refuse an invalid configuration now rather than at 6 in the morning
    if not config.business:
        raise ConfigProblem(f"nothing to schedule: {app.config_path} names no business")
    app.require_db()
    zone = config.business[0].timezone
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigProblem(f"{app.config_path}: business.timezone {zone!r} is not a time zone such as 'Europe/Copenhagen'") from None
    secrets = schedule_module.secrets_named(app.config_path.read_text(encoding="utf-8"))
    env_file = app.db_path.with_name(app.db_path.name + ".env") if secrets else None
    if env_file:
        try:
            schedule_module.write_env_file(env_file, secrets)
        except ValueError as error:
            raise ConfigProblem(str(error)) from None
    plan = schedule_module.Plan(when, zone, app.db_path, app.config_path, app.db_path.with_suffix(".log"), env_file)
    if kind == "cron":
        lines = schedule_module.install_cron(plan, crontab_file, unit_dir)
        click.echo(f"installed in {crontab_file or 'your crontab'}:")
        for line in lines:
            click.echo(f"  {line}")
    else:
        for path in schedule_module.install_systemd(plan, unit_dir, crontab_file):
            click.echo(f"wrote {path}")
    if env_file:
        click.echo(f"secrets for the weekly run ({', '.join(secrets)}) are in {env_file}, readable only by you")
    local_now = datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
    click.echo(f"next run: {when.next_after(local_now):%Y-%m-%d %H:%M} {zone} ({when.describe()} every week)")


@schedule.command(name="show")
@schedule_places
@pass_app
def schedule_show(app: App, crontab_file: Path | None, unit_dir: Path) -> None:
    """Print what repmon installed for this database and when it runs next."""
    lines = schedule_module.show_cron(app.db_path, crontab_file) + schedule_module.show_systemd(app.db_path, unit_dir)
    click.echo("\n".join(lines) if lines else f"nothing scheduled for {app.db_path}")


@schedule.command(name="remove")
@schedule_places
@pass_app
def schedule_remove(app: App, crontab_file: Path | None, unit_dir: Path) -> None:
    """Remove exactly what repmon installed for this database."""
    removed = schedule_module.remove_cron(app.db_path, crontab_file) + schedule_module.remove_systemd(app.db_path, unit_dir)
    click.echo(f"removed {removed} entries" if removed else f"nothing scheduled for {app.db_path}")


@cli.command()
@click.option("--no-serve", is_flag=True, help="Stop after the pipeline and print the summary")
@click.option("-p", "--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Explorer port")
@click.option("--seed", default=2026, show_default=True, help="Seed of the generated world")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("data"), show_default=True,
              help="Where demo.db and the demo's files go")
def demo(no_serve: bool, port: int, seed: int, folder: Path) -> None:
    """Run the whole product offline on a generated Danish plumbing firm.

    Serves its review sites on 127.0.0.1, then imports jobs, crawls, analyses
    and alerts exactly as `repmon run` would, and opens the explorer.
    """
    import time
    from datetime import date

    from monitor import demo as demo_world
    from monitor.alerts import run_alerts
    from monitor.analyze import run_analysis
    from monitor.loopback import LoopbackSite

    if not no_serve:
        try:
            explorer.check_port("127.0.0.1", port)
        except explorer.PortInUse as error:
            raise CannotStart(str(error)) from None
    started = time.monotonic()
    today = date.today()
    db_path, files = folder / "demo.db", folder / "demo"
    files.mkdir(parents=True, exist_ok=True)
    world = demo_world.build(today, seed)
    export = files / "ordrer.csv"
    export.write_bytes(world.jobs_csv)
    with LoopbackSite(world.pages) as site:
        config_path = files / "monitor.toml"
        config_path.write_text(demo_world.config_text(site), encoding="utf-8")
        app = App(db_path=db_path, config_path=config_path, config_required=True)
        database = app.db(create=True)
        business_id = app.business_id(database, demo_world.BUSINESS)
        report = imports.import_jobs(database, export, business_id, app.config.business[0].jobs_columns)
        click.echo(f"jobs import: {report.rows} rows from {export} ({report.saved.new} new, {report.saved.updated} updated)")
        targets = crawling.targets_from_config(database, app.config)
        crawl = crawling.run_crawl(db_path, targets, app.config.crawl)
        for row in crawl.runs:
            click.echo(f"crawl {row['status']:<8} {row['url']}: {row['pages']} pages, {row['reviews_seen']} reviews, "
                       f"{row['new']} new, {row['errors']} errors")
        analysis = run_analysis(database, app.config, today)
        alerts = run_alerts(database, app.config, today, db_name=db_path.stem, echo=lambda *_: None)
        inbox = files / "alerts.txt"
        with inbox.open("a", encoding="utf-8") as out:
            for _, body in site.posts:
                message = json.loads(body)
                out.write(f"{message['title']}\n{message['message']}\n\n")
    patterns = analysis.stages.get("patterns", {})
    click.echo(f"analyze: {analysis.stages['text']['analysed']} reviews read, {patterns.get('emerging', 0)} emerging patterns; "
               f"alerts: {alerts.sent} sent to {inbox}")
    for stage, error in analysis.failed.items():
        click.echo(f"stage {stage} failed: {error}", err=True)
    base = f"http://127.0.0.1:{port}"
    click.echo(f"pipeline finished in {time.monotonic() - started:.1f} s; database {db_path}")
    if no_serve:
        click.echo(f"Open the explorer with: repmon --db {db_path} --config {config_path} serve --port {port}")
    click.echo("Look first at:" if not no_serve else "Then look first at:")
    click.echo(f"  this week:             {base}/")
    click.echo(f"  unanswered complaints: {base}/-/complaints")
    click.echo(f"  patterns forming:      {base}/-/patterns")
    click.echo(f"  dashboard:             {base}/-/dashboards/repmon")
    database.close()
    if no_serve:
        return
    datasette = explorer.build_datasette(db_path, app.config)
    click.echo(f"repmon explorer on {base}/  (Ctrl+C to stop)")
    explorer.serve_forever(datasette, "127.0.0.1", port)
