"""Is a review a complaint, and about what? Multilingual cues and themes, stems, compounds, negation."""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import Stemmer

from monitor import complaint_model, theme_model
from monitor.text import fold, fold_word, load_data

STEMMERS = {"da": "danish", "nb": "norwegian", "nn": "norwegian", "sv": "swedish", "de": "german", "en": "english"}
LANGUAGES = ("da", "nb", "sv", "de", "en")
LONG_STEM = 6
DEFECT_GROUPS = ("job_type", "crew", "materials")  # where a defect theme's patterns are looked for, unless it says
MIN_COMPOUND = 4  # stems this long are also found inside longer words (vandskade, Wasserschaden)
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?\n;]")
_CLAUSE_END = re.compile(r"[.!?\n;:,]")


@dataclass
class Finding:
    """What the text says: complaint or not, and each theme with the words that show it."""

    complaint: bool
    themes: dict[str, str] = field(default_factory=dict)
    negative: int = 0
    positive: int = 0
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # theme -> offsets of its words in the text
    probability: float | None = None  # the text model's P(complaint), where it was asked (no rating, 3 stars)
    stems: list[str] = field(default_factory=list, repr=False, compare=False)  # the text's words, stemmed and folded


@dataclass(frozen=True)
class _Term:
    kind: str  # a theme name, or "negative" / "positive" for cues


class Vocabulary:
    """Themes and cues compiled for fast lookup: stems, compound stems, phrases, negators."""

    def __init__(self, themes: dict[str, dict], cues: dict[str, dict], extra: dict[str, dict[str, list[str]]] | None = None):
        self.window = int(cues.get("negation_window", 3))
        self.labels = {name: entry.get("label", {}) for name, entry in themes.items()}
        # "defect": a fault in the work or product; "service": how the firm deals with customers.
        self.kinds = {name: entry.get("kind", "defect") for name, entry in themes.items()}
        self._groups = {name: tuple(entry["groups"]) for name, entry in themes.items() if "groups" in entry}
        # "no refund", "keine Erstattung": for these themes a negation names the problem instead of denying it.
        self.negation_proof = frozenset(name for name, entry in themes.items() if entry.get("negation") is False)
        # "Poor quality" only where no more specific theme of its kind fits: cracks are cracks.
        self.general = frozenset(name for name, entry in themes.items() if entry.get("general"))
        self.stems: dict[str, dict[str, set[str]]] = {lang: {} for lang in LANGUAGES}  # lang -> folded stem -> kinds
        self.long_stems: dict[str, set[str]] = {}  # stems long enough to trust in any language's text
        self.phrases: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = {}  # first two words -> (words, kind)
        self.negators: set[str] = set()
        self._stemmers = {lang: Stemmer.Stemmer(name) for lang, name in STEMMERS.items()}
        compound: dict[str, str] = {}
        merged = {name: dict(entry) for name, entry in themes.items()}
        for name, words_by_lang in (extra or {}).items():
            target = merged.setdefault(name, {"label": {}})
            for lang, words in words_by_lang.items():
                target[lang] = list(target.get(lang, [])) + list(words)
        for name, entry in merged.items():
            for lang in LANGUAGES:
                for term in entry.get(lang, []):
                    self._add(term, lang, name, compound)
        for lang in LANGUAGES:
            section = cues.get(lang, {})
            self.negators |= {fold(word) for word in section.get("negators", [])}
            for kind in ("negative", "positive"):
                for term in section.get(kind, []):
                    self._add(term, lang, kind, None)
        self.themes = tuple(merged)
        # "ventet 3 uger", "2 hours on hold", "seit 6 Wochen": a number of days or hours shows waiting
        self.durations: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
        self.durations_after: dict[str, frozenset[str]] = {}
        for name, entry in themes.items():
            for lang, units in entry.get("durations", {}).items():
                self.durations[lang].update({fold(unit): name for unit in units})
                self.durations_after[lang] = frozenset(fold(w) for w in entry.get("durations_after", {}).get(lang, ()))
        self._compound = compound
        self._compound_longest = max(map(len, compound), default=0)
        self._compound_heads = {key[:MIN_COMPOUND + 1] for key in compound}  # where a stem can start
        self._phrase_heads = {first for first, _ in self.phrases}
        self._material = json.dumps([merged, cues], sort_keys=True, ensure_ascii=False)

    @cached_property
    def model(self) -> complaint_model.ComplaintModel:
        return complaint_model.load()

    @cached_property
    def theme_model(self) -> theme_model.ThemeModel | None:
        return theme_model.load()

    @cached_property
    def version(self) -> str:
        """Changes with the taxonomy, the cues and the text models: reviews are analysed again when it does."""
        themes_version = self.theme_model.version if self.theme_model else ""
        return hashlib.sha1((self._material + self.model.version + themes_version).encode()).hexdigest()[:12]

    def _add(self, term: str, lang: str, kind: str, compound: dict[str, str] | None) -> None:
        words = _WORD.findall(_expand_not(term.lower())[0])  # "didn't show" is read as the text is: "did not show"
        if len(words) > 1:
            folded = tuple(fold(w) for w in words)
            same = self.phrases.setdefault(folded[:2], [])
            if (folded, kind) not in same:  # "ingen svar" is Danish and Norwegian: one phrase, counted once
                same.append((folded, kind))
            return
        stem = fold(self._stemmers[lang].stemWord(words[0]))
        for key in (stem, fold(words[0])):
            self.stems[lang].setdefault(key, set()).add(kind)
            if len(key) >= LONG_STEM:  # 'rude' is a window pane in Danish; 'wasserschaden' is nothing else
                self.long_stems.setdefault(key, set()).add(kind)
        if compound is not None and len(stem) >= MIN_COMPOUND + 1:
            whole = fold(words[0])
            # German stems drop umlauts (gebühr -> gebuhr, kündigung -> kundig): the folded word finds
            # Mahngebühr and does not find erkundigt.
            compound.setdefault(stem if stem in whole else whole, kind)

    def _inside(self, word: str) -> str | None:
        """The kind of the compound stem found in `word`: the leftmost, and the longest there.

        Slices looked up in a dict, not one regular expression of all stems: with 750 stems the slices
        are 4-5 times faster (40 against 210 µs for a 13-letter word with no stem, on a loaded machine)."""
        compound, heads, shortest = self._compound, self._compound_heads, MIN_COMPOUND + 1
        for start in range(len(word) - shortest + 1):
            if word[start:start + shortest] not in heads:
                continue
            for end in range(min(len(word), start + self._compound_longest), start + shortest - 1, -1):
                kind = compound.get(word[start:end])
                if kind is not None:
                    return kind
        return None

    def kind(self, theme: str) -> str:
        """'defect' or 'service'; a theme a config adds counts as a defect."""
        return self.kinds.get(theme, "defect")

    def groups(self, theme: str) -> tuple[str, ...]:
        """What a theme's patterns are counted by beyond the business: job_type, crew, materials."""
        return self._groups.get(theme, DEFECT_GROUPS if self.kind(theme) == "defect" else ())

    def label(self, theme: str, lang: str) -> str:
        labels = self.labels.get(theme, {})
        return labels.get(lang) or labels.get("en") or theme

    def analyse(self, text: str | None, rating: float | None, lang: str | None, complaint_max_rating: float = 2,
                mask: tuple[str, ...] = (), learnt: bool = True) -> Finding:
        """Complaint or not, and themes with evidence; ratings decide where they are clear.

        `mask`: the business's own names, blanked first (Müller must not read as Müll, "mess").
        `learnt`: a complaint's themes as the theme model decides them, where one is installed; False: the
        vocabulary's alone.
        """
        return self.analyse_many([(text, rating, lang, complaint_max_rating, mask)], learnt)[0]

    def analyse_many(self, reviews: Sequence[tuple[str | None, float | None, str | None, float, tuple[str, ...]]],
                     learnt: bool = True) -> list[Finding]:
        """analyse() of many reviews, each (text, rating, lang, complaint_max_rating, mask).

        The text model reads all the texts it is asked about in one batch: a few numpy calls for the whole
        batch instead of a dozen for every text (see `ComplaintModel.read_many`).
        """
        findings: list[Finding] = []
        asked: list[tuple[Finding, list[str], str | None, bool]] = []
        words_of: list[tuple[str, list[tuple[int, int]], str | None]] = []  # masked text, word offsets, language
        for text, rating, lang, complaint_max_rating, mask in reviews:
            finding, raw, masked, spans = self._themes_and_cues(text, lang, mask)
            words_of.append((masked, spans, lang))
            if rating is not None and not complaint_max_rating < rating < 4:
                finding.complaint = _is_complaint(finding, rating, complaint_max_rating)
            elif complaint_model.decided_by_themes(len(raw), finding.negative, finding.positive, len(finding.themes),
                                                   rating is not None):
                finding.complaint = True  # a trades problem named: the model is not asked
            else:
                asked.append((finding, raw, lang, rating is not None))
            findings.append(finding)
        if asked:
            model = self.model
            readings = model.read_many([raw for _, raw, _, _ in asked], [lang for _, _, lang, _ in asked],
                                       [(f.negative, f.positive, len(f.themes)) for f, _, _, _ in asked])
            for (finding, raw, _, three_stars), reading in zip(asked, readings):
                finding.probability = reading.probability
                finding.complaint = complaint_model.decide(reading, model.threshold, len(raw), finding.negative,
                                                           finding.positive, len(finding.themes), three_stars)
        if learnt and self.theme_model is not None:
            for finding, (masked, spans, lang) in zip(findings, words_of):
                if finding.complaint:
                    self._learnt_themes(finding, masked, spans, lang)
        return findings

    def _themes_and_cues(self, text: str | None, lang: str | None, mask: tuple[str, ...]
                         ) -> tuple[Finding, list[str], str, list[tuple[int, int]]]:
        """Themes with evidence and cue counts, the complaint still undecided; the text's words as
        `complaint_model.words_of()` gives them (lower case, "n't" as "not", \\w+ words), for the text model;
        the text with the business's names masked, and its words' offsets."""
        text = text or ""
        for name in mask:
            text = re.sub(re.escape(name), lambda m: " " * len(m.group(0)), text, flags=re.IGNORECASE)
        lowered = text.lower()
        if len(lowered) != len(text):  # a few letters grow when lowered (İ); offsets must stay those of the text
            lowered = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)
        shifts: list[int] = []
        if "n't" in lowered or "n’t" in lowered:
            lowered, shifts = _expand_not(lowered)
        spans = [(m.start(), m.end()) for m in _WORD.finditer(lowered)]
        ends = [m.start() for m in _CLAUSE_END.finditer(lowered)]
        clause = [bisect.bisect_left(ends, start) for start, _ in spans]  # negation stops at punctuation
        raw = [lowered[a:b] for a, b in spans]
        if shifts:  # back to offsets in the text: each expanded "n't" moved what follows one letter right
            spans = [(a - bisect.bisect_right(shifts, a), b - bisect.bisect_right(shifts, b - 1)) for a, b in spans]
        folded = [fold_word(w) for w in raw]
        stemmer = self._stemmers.get(lang or "", self._stemmers["en"])
        stems = [fold_word(s) for s in stemmer.stemWords(raw)]
        english = [fold_word(s) for s in self._stemmers["en"].stemWords(raw)] if lang != "en" else stems
        finding = Finding(False)
        covered: set[int] = set()
        used: set[int] = set()
        heads = self._phrase_heads
        for i, word in enumerate(folded):  # phrases first: "kom ikke", "water damage", "nicht erschienen"
            if word not in heads:
                continue
            for words, kind in self.phrases.get((word, folded[i + 1]) if i + 1 < len(folded) else (word, ""), ()):
                if tuple(folded[i:i + len(words)]) == words:
                    covered.update(range(i, i + len(words)))
                    self._count(finding, kind, False, lambda i=i: self._evidence(text, spans, i))
                    if kind in finding.themes:
                        finding.spans.setdefault(kind, (spans[i][0], spans[i + len(words) - 1][1]))
        used.update(covered)  # the "ikke" of "kom ikke" belongs to its phrase, not to the next word
        own = self.stems.get("nb" if lang == "nn" else lang or "", self.stems["en"])
        long_stems = self.long_stems
        for i, word in enumerate(folded):
            if i in covered:
                continue
            stem = stems[i]
            kinds = (own.get(stem) or own.get(word) or long_stems.get(stem) or long_stems.get(word)
                     or long_stems.get(english[i]))
            if not kinds and len(word) > MIN_COMPOUND + 2:
                found = self._inside(word)
                kinds = {found} if found else None
            if not kinds:
                continue
            # A negator reaches the next cue or term in its clause, and only that one.
            negator = next((j for j in range(i - 1, max(-1, i - self.window - 1), -1)
                            if folded[j] in self.negators and clause[j] == clause[i] and j not in used), None)
            negated = negator is not None and not kinds <= self.negation_proof
            if negated:
                used.add(negator)
            for kind in kinds:
                self._count(finding, kind, negated and kind not in self.negation_proof,
                            lambda i=i: self._evidence(text, spans, i))
                if kind in finding.themes:
                    finding.spans.setdefault(kind, spans[i])
        own_lang = "nb" if lang == "nn" else lang if lang in self.durations else "en"
        units, after = self.durations[own_lang], self.durations_after.get(own_lang, frozenset())
        if units:
            for i, word in enumerate(folded[:-1]):
                if (word.isdigit() and folded[i + 1] in units and i > 0 and folded[i - 1] in after
                        and units[folded[i + 1]] not in finding.themes):
                    kind = units[folded[i + 1]]
                    self._count(finding, kind, False, lambda i=i: self._evidence(text, spans, i))
                    finding.spans[kind] = (spans[i][0], spans[i + 1][1])
        self._drop_general(finding)
        finding.stems = stems
        return finding, raw, text, spans

    def _drop_general(self, finding: Finding) -> None:
        for theme in self.general & finding.themes.keys():
            if any(self.kind(other) == self.kind(theme) for other in finding.themes if other not in self.general):
                del finding.themes[theme], finding.spans[theme]

    def _learnt_themes(self, finding: Finding, text: str, spans: list[tuple[int, int]], lang: str | None) -> None:
        """The theme model's decision for the themes it learnt; evidence from the vocabulary where it found the
        theme, else the sentence of the word that speaks most for it."""
        model = self.theme_model
        assert model is not None
        for theme, named in model.decide(finding.stems, set(finding.themes), lang).items():
            if not named:
                finding.themes.pop(theme, None)
                finding.spans.pop(theme, None)
            elif theme not in finding.themes:
                position = model.strongest_word(finding.stems, theme)
                if position is None:
                    position = 0
                if position < len(spans):
                    finding.themes[theme] = self._evidence(text, spans, position)
                    finding.spans[theme] = spans[position]
        self._drop_general(finding)

    @staticmethod
    def _count(finding: Finding, kind: str, negated: bool, evidence: Callable[[], str]) -> None:
        if kind == "positive":
            if negated:
                finding.negative += 1  # "ikke tilfreds", "inte nöjd"
            else:
                finding.positive += 1
        elif kind == "negative":
            if negated:
                finding.positive += 1  # "ingen problemer", "not bad"
            else:
                finding.negative += 1
        elif not negated:  # a theme
            finding.negative += 1
            if kind not in finding.themes:
                finding.themes[kind] = evidence()

    @staticmethod
    def _evidence(text: str, spans: list[tuple[int, int]], index: int, width: int = 60) -> str:
        """The sentence around word `index`, cut to about 2 x width characters."""
        start, end = spans[index]
        left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
        right_match = _SENTENCE_END.search(text, end)
        right = right_match.start() + 1 if right_match else len(text)
        left, right = max(left, start - width), min(right, end + width)
        return " ".join(text[left:right].split())


def _expand_not(lowered: str) -> tuple[str, list[int]]:
    """"didn't" -> "did not": the negator becomes a word; also where each insertion moved the text."""
    parts: list[str] = []
    shifts: list[int] = []
    last = 0
    for match in re.finditer("n['’]t", lowered):
        parts.append(lowered[last:match.start()])
        shifts.append(match.start() + len(shifts) + 1)  # the inserted letter's offset in the expanded text
        parts.append(" not")
        last = match.end()
    parts.append(lowered[last:])
    return "".join(parts), shifts


def _is_complaint(finding: Finding, rating: float, complaint_max_rating: float) -> bool:
    """1-2 stars: a complaint; 4-5: only when it clearly does (no rating and 3 stars: the text model decides)."""
    if rating <= complaint_max_rating:
        return True
    return bool(finding.themes) and finding.negative >= 2 and finding.negative > finding.positive


@lru_cache(maxsize=8)
def vocabulary(extra_json: str = "{}") -> Vocabulary:
    """The shipped taxonomy and cues, plus themes a config adds ({"theme": {"da": [...], ...}})."""
    return Vocabulary(load_data("themes.toml"), load_data("complaint_cues.toml"), json.loads(extra_json))


def theme_names(extra_json: str = "{}") -> Iterable[str]:
    return vocabulary(extra_json).themes
