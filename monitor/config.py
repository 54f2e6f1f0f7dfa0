"""monitor.toml: load, validate and describe the configuration."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.schema import JOB_IMPORT_FIELDS

SourceKind = Literal["trustpilot", "schemaorg", "feed"]
Severity = Literal["info", "warning", "critical"]


class ConfigError(Exception):
    """The configuration file cannot be used; the message names file, key and reason."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Thresholds(Strict):
    complaint_max_rating: float = Field(2, ge=1, le=5)
    reply_deadline_hours: int = Field(48, ge=1)
    pattern_window_days: int = Field(90, ge=1)
    pattern_min_count: int = Field(3, ge=2)
    pattern_max_p_value: float = Field(0.05, gt=0, lt=1)
    follow_up_days: int = Field(14, ge=0)
    follow_up_days_by_job_type: dict[str, int] = Field(default_factory=dict)
    warranty_days: int = Field(365 * 5, ge=0)
    burst_window_days: int = Field(14, ge=1)
    burst_min_count: int = Field(3, ge=2)
    match_threshold: float = Field(default_factory=lambda: _model_threshold(), gt=0, lt=1)
    match_margin: float = Field(0.15, ge=0, lt=1)


def _model_threshold() -> float:
    from monitor.match import model_threshold

    return model_threshold()


class Source(Strict):
    kind: SourceKind
    url: str = Field(pattern=r"^https?://\S+$")
    name: str | None = None
    max_pages: int | None = Field(None, ge=1)


class Channel(Strict):
    url: str = Field(min_length=3)
    min_severity: Severity = "info"
    name: str | None = None

    @field_validator("url")
    @classmethod
    def _apprise_can_use(cls, value: str) -> str:
        import apprise

        resolved = expand_env(value)
        if not apprise.Apprise().add(resolved):
            scheme = value.split("://", 1)[0]
            raise ValueError(f"apprise cannot use this {scheme}:// URL; see the apprise wiki for its form")
        return value

    def resolved_url(self) -> str:
        """The URL with ${VARIABLES} taken from the environment (secrets stay out of the config file)."""
        return expand_env(self.url)

    def label(self, position: int) -> str:
        """A name for logs and the alerts table that never carries a secret."""
        return self.name or f"{self.url.split('://', 1)[0]}-{position + 1}"


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str) -> str:
    """Replace ${NAME} with the environment variable NAME; a missing one is an error."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]

    return _ENV.sub(value, text)


class Replies(Strict):
    """Who signs reply drafts and the contact they offer: the only contact details a public reply may carry."""

    signer: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_url: str | None = None

    @field_validator("signer")
    @classmethod
    def _signer(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^\r\n{}<>%]{1,80}", value.strip()):
            raise ValueError("the signer is one line of up to 80 characters without braces or angle brackets, "
                             "such as 'Mette Hansen'")
        return value.strip() if value else value

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\+?[0-9][0-9 ()-]{5,22}[0-9]", value):
            raise ValueError(f"{value!r} is not a phone number such as '+45 12 34 56 78'")
        return value

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}", value):
            raise ValueError(f"{value!r} is not an e-mail address such as 'kontakt@hansen-vvs.dk'")
        return value

    @field_validator("contact_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s<>\"'{}]{3,200}", value):
            raise ValueError(f"{value!r} is not a web address such as 'https://hansen-vvs.dk/kontakt'")
        return value


class Business(Strict):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    country: str = Field("DK", pattern=r"^[A-Za-z]{2}$")
    languages: list[str] = Field(default_factory=lambda: ["da", "en"])
    timezone: str = "Europe/Copenhagen"
    source: list[Source] = Field(default_factory=list)
    channel: list[Channel] = Field(default_factory=list)
    jobs_columns: dict[str, str] = Field(default_factory=dict)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    replies: Replies = Field(default_factory=Replies)

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for code in value:
            if not (2 <= len(code) <= 3 and code.isalpha() and code.islower()):
                raise ValueError(f"{code!r} is not an ISO 639-1 language code such as 'da', 'nb', 'sv', 'de', 'en'")
        return value

    @field_validator("jobs_columns")
    @classmethod
    def _job_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for column, job_field in value.items():
            if job_field not in JOB_IMPORT_FIELDS:
                raise ValueError(
                    f"column {column!r} maps to {job_field!r}, expected one of: {', '.join(JOB_IMPORT_FIELDS)}"
                )
        return value


class Crawl(Strict):
    user_agent: str = "repmon/0.1 (reputation monitor; +https://github.com/repmon/repmon)"
    obey_robots: bool = True
    concurrency_per_domain: int = Field(2, ge=1, le=8)
    download_delay: float = Field(1.0, ge=0)
    max_pages: int = Field(50, ge=1)
    http_cache: bool = False
    timeout_seconds: float = Field(30, gt=0)
    max_error_rate: float = Field(0.25, ge=0, le=1)
    autothrottle: bool = True
    # A weekly run should not hold its lock for an hour: a server asking for a longer pause is
    # reported as rate-limited and read again next run.
    max_retry_after_seconds: float = Field(300, ge=0)
    # Bigger than any review page or feed (Trustpilot pages are under 1 MB); counted after
    # decompression, so a gzip bomb stops here instead of filling memory.
    max_response_mb: float = Field(20, gt=0)
    # A review page parses in well under a second; a document still being parsed after this is
    # pathological (e.g. feedparser's quadratic e-mail search over a 1 MB author) and is skipped.
    parse_time_limit_seconds: float = Field(20, gt=0)


class Explorer(Strict):
    public_url: str | None = Field(None, pattern=r"^https?://\S+$")
    password_hash_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")


class Config(Strict):
    crawl: Crawl = Field(default_factory=Crawl)
    explorer: Explorer = Field(default_factory=Explorer)
    # Extra complaint themes or words: theme -> language -> words, added to monitor/data/themes.toml.
    themes: dict[str, dict[Literal["da", "nb", "sv", "de", "en"], list[str]]] = Field(default_factory=dict)
    business: list[Business] = Field(default_factory=list)

    def find_business(self, name: str) -> Business | None:
        """The configured business whose name or alias is `name` (case-insensitive)."""
        wanted = name.casefold()
        for business in self.business:
            if wanted == business.name.casefold() or wanted in (a.casefold() for a in business.aliases):
                return business
        return None


def load_config(path: Path, required: bool = False) -> Config:
    """Read and validate `path`; a missing optional file gives the defaults."""
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: file not found (run `repmon init` to write an example)")
        return Config()
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a configuration file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    return parse_config(data, source=str(path))


def parse_config(data: dict[str, Any], source: str = "<config>") -> Config:
    """Validate a parsed TOML document, raising ConfigError with every problem found."""
    try:
        config = Config.model_validate(data)
    except ValidationError as error:
        problems = [_describe(problem) for problem in error.errors()]
        raise ConfigError(f"{source}: invalid configuration:\n" + "\n".join(f"  {p}" for p in problems)) from None
    names = [b.name.casefold() for b in config.business]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{source}: business: name {duplicates[0]!r} is used twice, expected unique names")
    return config


def _describe(problem: dict[str, Any]) -> str:
    """One line per problem: dotted key, then what was expected and what was found."""
    key = ""
    for part in problem["loc"]:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    kind = problem["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(problem["loc"][:-1])
        return f"{key}: unknown key, expected one of: {', '.join(allowed)}"
    if kind == "missing":
        return f"{key}: missing required key"
    message = problem["msg"].removeprefix("Value error, ")
    found = problem.get("input")
    if isinstance(found, (str, int, float, bool)) and kind != "value_error":
        return f"{key}: expected {message[0].lower() + message[1:]}, got {found!r}"
    return f"{key}: {message}"


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts, for 'unknown key' messages."""
    model: type[BaseModel] = Config
    for part in loc:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return list(model.model_fields)
