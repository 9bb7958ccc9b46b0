"""Name matching, pure (no files, no database): which known drug or organisation does a name mean?

Scored candidates, never a silent merge.

Names arrive as "GR1501注射液", "赛立奇单抗注射液（金立希®）", "Xeligekimab Injection",
"重庆智翔金泰生物制药股份有限公司".
`match_candidates` compares a name with every alias in an `AliasTable` at decreasing levels of strictness
and returns one scored `Match` per candidate with the reason, for a person to confirm:

    1.00  the same alias after folding case, full/half width and punctuation (`normalise_name`)
    0.95  the same once dosage forms are removed (注射液, 注射用…, 片, 胶囊, Injection, for Injection,
          Tablets…);
          for organisations, legal forms (股份有限公司, Co., Ltd., Inc.…)
    0.90  the same once salt forms are removed too (盐酸…, …hydrochloride, mesylate, sodium…)
    0.80  the name contains an alias of at least 4 characters (a code such as GR1501 must stand alone:
          GR15011 does not contain GR1501)
    <0.6  a similar spelling (difflib ratio >= 0.8), only ever a hint

`resolve` accepts a match only when exactly one candidate scores >= 0.9 and no other comes within 0.05;
everything else goes to review. The table refuses an alias that already means something else.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipecast.domain import normalise_name
from pipecast.errors import AliasConflict, InputError

KINDS = ("drug", "org")

# Normalised (case-folded, no spaces or punctuation) endings, longest first.
_FORMS = sorted(
    (
        "注射液",
        "注射剂",
        "注射用浓溶液",
        "细胞注射液",
        "冻干粉针",
        "粉针剂",
        "片",
        "薄膜衣片",
        "缓释片",
        "控释片",
        "肠溶片",
        "分散片",
        "咀嚼片",
        "胶囊",
        "软胶囊",
        "硬胶囊",
        "肠溶胶囊",
        "颗粒",
        "口服溶液",
        "口服液",
        "混悬液",
        "乳膏",
        "凝胶",
        "滴眼液",
        "喷雾剂",
        "气雾剂",
        "吸入剂",
        "贴剂",
        "疫苗",
        "injection",
        "injections",
        "forinjection",
        "solutionforinjection",
        "concentrate",
        "tablets",
        "tablet",
        "filmcoatedtablets",
        "extendedreleasetablets",
        "capsules",
        "capsule",
        "oralsolution",
        "cream",
        "gel",
    ),
    key=len,
    reverse=True,
)
_FORM_PREFIXES = ("注射用",)
_SALT_PREFIXES = (
    "对甲苯磺酸",
    "盐酸",
    "氢溴酸",
    "甲磺酸",
    "乙磺酸",
    "苯磺酸",
    "马来酸",
    "富马酸",
    "琥珀酸",
    "枸橼酸",
    "酒石酸",
    "硫酸",
    "磷酸",
    "醋酸",
)
_SALT_SUFFIXES = sorted(
    (
        "hydrochloride",
        "dihydrochloride",
        "hcl",
        "hydrobromide",
        "mesylate",
        "mesilate",
        "besylate",
        "besilate",
        "tosylate",
        "maleate",
        "fumarate",
        "succinate",
        "citrate",
        "tartrate",
        "sulfate",
        "sulphate",
        "phosphate",
        "acetate",
        "sodium",
        "potassium",
    ),
    key=len,
    reverse=True,
)
_LEGAL = sorted(
    (
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "集团",
        "coltd",
        "co",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corporation",
        "corp",
        "llc",
        "gmbh",
        "plc",
        "group",
    ),
    key=len,
    reverse=True,
)
_MARKS = re.compile(r"[®™©]")
_BRACKETED = re.compile(r"[(（\[【]([^)）\]】]*)[)）\]】]")


def _strip(text: str, suffixes: Iterable[str], prefixes: Iterable[str] = ()) -> str:
    changed = True
    while changed:
        changed = False
        for end in suffixes:
            if text.endswith(end) and len(text) > len(end):
                text, changed = text[: -len(end)], True
                break
        for start in prefixes:
            if text.startswith(start) and len(text) > len(start):
                text, changed = text[len(start) :], True
                break
    return text


def keys(name: str, kind: str) -> tuple[str, str, str]:
    """(folded, without form, without form and salt) keys of a name; see the module docstring."""
    folded = normalise_name(_MARKS.sub("", name))
    if kind == "org":
        bare = _strip(folded, _LEGAL)
        return folded, bare, bare
    no_form = _strip(folded, _FORMS, _FORM_PREFIXES)
    return folded, no_form, _strip(no_form, _SALT_SUFFIXES, _SALT_PREFIXES)


@dataclass(frozen=True, slots=True)
class Alias:
    alias: str
    kind: str
    canonical_id: str
    lang: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True, order=True)
class Match:
    """A candidate for review: how sure (0-1), which id, and why."""

    score: float
    asset_id: str
    reason: str
    alias: str = ""


@dataclass
class AliasTable:
    """Aliases of drugs and organisations, and each organisation's parent (subsidiary -> parent)."""

    aliases: list[Alias] = field(default_factory=list)
    parents: dict[str, str] = field(default_factory=dict)
    _index: dict[tuple[str, int, str], dict[str, Alias]] = field(default_factory=dict, repr=False)
    _keyed: dict[str, list[tuple[Alias, str, str, Counter[str]]]] = field(default_factory=dict, repr=False)

    def add(self, alias: str, kind: str, canonical_id: str, lang: str = "", source: str = "") -> Alias:
        """Register an alias; AliasConflict if its folded form already names another id of that kind."""
        if kind not in KINDS:
            raise InputError(f"unknown kind {kind!r}", expected="drug or org")
        entry = Alias(alias.strip(), kind, canonical_id.strip(), lang, source)
        folded = keys(entry.alias, kind)[0]
        if not folded or not entry.canonical_id:
            raise InputError(f"empty alias or id in {entry}")
        clash = self._index.get((kind, 0, folded), {})
        other = [a for a in clash.values() if a.canonical_id != entry.canonical_id]
        if other:
            raise AliasConflict(
                f"alias {alias!r} already means {other[0].canonical_id!r}, not {canonical_id!r}"
            )
        self.aliases.append(entry)
        entry_keys = keys(entry.alias, kind)
        for level, key in enumerate(entry_keys):
            self._index.setdefault((kind, level, key), {}).setdefault(entry.canonical_id, entry)
        self._keyed.setdefault(kind, []).append((entry, entry_keys[1], _spaced(entry.alias), Counter(entry_keys[1])))
        return entry

    def add_parent(self, child: str, parent: str) -> None:
        if child == parent or child in self.ancestors(parent):
            raise InputError(f"{child!r} -> {parent!r} would make a parent cycle")
        self.parents[child] = parent

    def ancestors(self, org_id: str) -> list[str]:
        """Parent, grandparent … of an organisation (empty for a top-level one)."""
        chain: list[str] = []
        while org_id in self.parents and org_id not in chain:
            org_id = self.parents[org_id]
            chain.append(org_id)
        return chain

    def ids(self, kind: str) -> set[str]:
        return {a.canonical_id for a in self.aliases if a.kind == kind}

    def aliases_of(self, canonical_id: str) -> list[str]:
        return [a.alias for a in self.aliases if a.canonical_id == canonical_id]

    def lookup(self, kind: str, level: int, key: str) -> list[Alias]:
        return list(self._index.get((kind, level, key), {}).values())

    def keyed(self, kind: str) -> list[tuple[Alias, str, str, Counter[str]]]:
        """The aliases of a kind, in the order added, each with its key once the form is removed, its spaced
        form (`_spaced`) and the key's character counts, computed once when added."""
        return self._keyed.get(kind, [])


#: The best score a pass over every alias gives (a contained alias); the index levels score above it.
_BEST_SCANNED = 0.8
_LEVEL_SCORES = (
    (0, 1.0, "same as alias {alias!r} after folding case, width and punctuation"),
    (1, 0.95, "same as alias {alias!r} once dosage or legal form is removed"),
    (2, 0.9, "same as alias {alias!r} once dosage form and salt are removed"),
)


def _variants(name: str, kind: str) -> list[str]:
    """The name, its bracketed parts (brands: （金立希®）) and the name without them; orgs split on / ;."""
    parts = [name, *_BRACKETED.findall(name), _BRACKETED.sub("", name)]
    if kind == "org":
        parts += [p for p in re.split(r"[/;；、|]", name)]
    return [p.strip() for p in dict.fromkeys(parts) if p.strip()]


def _spaced(text: str) -> str:
    """Folded text with punctuation as single spaces, so Latin words keep their boundaries."""
    return re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", _MARKS.sub("", text)).casefold()).strip()


def _contains(name: str, alias: str, kind: str) -> bool:
    """Whether `name` contains `alias` as a whole token (codes: GR15011 does not contain GR1501)."""
    bounded = r"(?<![a-z0-9]){}(?![a-z0-9])"
    if re.search(bounded.format(re.escape(_spaced(alias))), _spaced(name)):
        return True
    compact = keys(alias, kind)[1]
    return bool(re.search(bounded.format(re.escape(compact)), keys(name, kind)[0]))


def _may_be_similar(a: str, a_chars: Counter[str], b: str, b_chars: Counter[str]) -> bool:
    """Whether difflib's ratio of `a` and `b` can reach 0.8: its two upper bounds `real_quick_ratio` (lengths)
    and `quick_ratio` (characters in common), computed as difflib does, from counts made once per alias."""
    total = len(a) + len(b)
    if 2.0 * min(len(a), len(b)) / total < 0.8:
        return False
    common = sum(min(n, b_chars.get(c, 0)) for c, n in a_chars.items())
    return 2.0 * common / total >= 0.8


def match_candidates(name: str, table: AliasTable, kind: str = "drug") -> list[Match]:
    """Every id the name may mean, best first, one Match per id (rules in the module docstring)."""
    return _matches(name, table, kind, scan=True)


def _matches(name: str, table: AliasTable, kind: str, *, scan: bool) -> list[Match]:
    """`match_candidates`; without `scan`, only the index levels (scores 1.0, 0.95, 0.9), a dictionary
    look-up per variant instead of a pass over every alias."""
    best: dict[str, Match] = {}

    def offer(match: Match) -> None:
        if match.score > best.get(match.asset_id, Match(-1.0, "", "")).score:
            best[match.asset_id] = match

    for variant in _variants(name, kind):
        variant_keys = keys(variant, kind)
        spaced = _spaced(variant)
        key, key_chars = variant_keys[1], Counter(variant_keys[1])
        for level, score, why in _LEVEL_SCORES:
            for alias in table.lookup(kind, level, variant_keys[level]):
                offer(Match(score, alias.canonical_id, why.format(alias=alias.alias), alias.alias))
        for alias, alias_key, alias_spaced, alias_chars in table.keyed(kind) if scan else ():
            # `_contains` needs one of the two as a plain substring: test that first, it is much cheaper
            maybe_inside = alias_key in variant_keys[0] or alias_spaced in spaced
            if (len(alias_key) >= 4 and alias_key != variant_keys[1] and maybe_inside
                    and _contains(variant, alias.alias, kind)):
                offer(Match(0.8, alias.canonical_id, f"contains alias {alias.alias!r}", alias.alias))
            if len(alias_key) < 5 or not _may_be_similar(key, key_chars, alias_key, alias_chars):
                continue
            ratio = difflib.SequenceMatcher(None, key, alias_key).ratio()
            if ratio >= 0.8:
                offer(
                    Match(
                        round(0.6 * ratio, 3),
                        alias.canonical_id,
                        f"spelled like alias {alias.alias!r} (similarity {ratio:.2f}); check",
                        alias.alias,
                    )
                )
    matches = sorted(best.values(), key=lambda m: (-m.score, m.asset_id))
    if kind == "org":
        matches = [
            Match(m.score, m.asset_id, m.reason + _parent_note(table, m.asset_id), m.alias) for m in matches
        ]
    return matches


def _parent_note(table: AliasTable, org_id: str) -> str:
    chain = table.ancestors(org_id)
    return f"; subsidiary of {' -> '.join(chain)}" if chain else ""


def decide(matches: Sequence[Match], *, threshold: float = 0.9, margin: float = 0.05) -> str | None:
    """The id the best match gives when it is >= threshold and no other is within `margin`; else None."""
    if not matches or matches[0].score < threshold:
        return None
    if len(matches) > 1 and round(matches[0].score - matches[1].score, 6) <= margin:
        return None
    return matches[0].asset_id


def resolve_with_matches(
    name: str, table: AliasTable, kind: str = "drug", *, threshold: float = 0.9, margin: float = 0.05
) -> tuple[str | None, list[Match]]:
    """`resolve` and the matches it decided on, from one scoring of the name: an importer that needs a hint
    for an unresolved name (its closest candidate) does not score it twice.

    A name the index levels decide (one id >= threshold, the next more than `margin` below, and more than
    `margin` above 0.8, the best score a pass over every alias can add) is decided without that pass: its
    matches are then the index-level ones only. Otherwise the matches are `match_candidates`' in full.
    """
    quick = _matches(name, table, kind, scan=False)
    target = decide(quick, threshold=threshold, margin=margin)
    if target is not None and round(quick[0].score - _BEST_SCANNED, 6) > margin:
        return target, quick
    matches = match_candidates(name, table, kind)
    return decide(matches, threshold=threshold, margin=margin), matches


def resolve(
    name: str, table: AliasTable, kind: str = "drug", *, threshold: float = 0.9, margin: float = 0.05
) -> str | None:
    """The id when exactly one candidate is >= threshold and no other is within `margin`; else None."""
    return resolve_with_matches(name, table, kind, threshold=threshold, margin=margin)[0]


def candidate_table(named: Iterable[tuple[str, Sequence[str]]], bundled: AliasTable) -> AliasTable:
    """Aliases of known candidates `(id, names)`, then the bundled table's, filed under those ids.

    A bundled entry whose aliases resolve to exactly one known candidate joins it; one that names none keeps
    its bundled id. An alias that would mean two ids is left out: it never decides anything.
    """
    known: set[str] = set()
    table = known_table(named, seen=known)
    for canonical in sorted(bundled.ids("drug")):
        names = bundled.aliases_of(canonical)
        targets = {resolve(n, table) for n in names} - {None}
        target = next(iter(targets)) if len(targets) == 1 else canonical
        if target not in known:
            target = canonical
        for name in names:
            try:
                table.add(name, "drug", str(target), source="bundled")
            except InputError:
                continue
    return table


def known_table(named: Iterable[tuple[str, Sequence[str]]], *, seen: set[str] | None = None) -> AliasTable:
    """A drug alias table of candidates `(id, names)`; the id counts as a name. A name that would mean a
    second id is left out (the first candidate keeps it). `seen`, when given, collects the ids."""
    table = AliasTable()
    for asset_id, names in named:
        if seen is not None:
            seen.add(asset_id)
        for name in dict.fromkeys((asset_id, *names)):
            if name.strip():
                try:
                    table.add(name, "drug", asset_id, source="known")
                except InputError:
                    continue
    return table


def resolve_onto(
    incoming: Iterable[tuple[str, Sequence[str]]], known: Iterable[tuple[str, Sequence[str]]]
) -> dict[str, str]:
    """Incoming id -> the known candidate it is, for incoming candidates whose id is not known.

    An incoming candidate (id, names) joins a known one when its id or a name resolves (`resolve`) to that
    one candidate only, and no other incoming candidate resolves to it too; anything less sure is left as
    it is (and can go to review). Used so that loading order does not change identity.
    """
    known_list = list(known)
    known_ids = {asset_id for asset_id, _ in known_list}
    table = known_table(known_list)
    claims: dict[str, list[str]] = {}
    for asset_id, names in incoming:
        if asset_id in known_ids:
            continue
        found = {resolve(n, table) for n in dict.fromkeys((asset_id, *names)) if n.strip()} - {None}
        if len(found) == 1:
            claims.setdefault(str(found.pop()), []).append(asset_id)
    return {ids[0]: target for target, ids in claims.items() if len(ids) == 1}
