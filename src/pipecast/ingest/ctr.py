"""China's drug-trial registry (药物临床试验登记与信息公示平台, chinadrugtrials.org.cn) exports.

The registry has no official bulk export, so files come from several scrapers and from users' own
spreadsheets; the column names below are the ones seen in real files (tests/data/registry/SOURCE.md):
the platform's field labels (登记号, 药物名称, 适应症, 试验分期, 申办者名称, 首次公示信息日期, 试验状态,
试验机构城市 ...), the English headers of the CDE detail export (ctr_no, drug_name, phase, sponsor,
publication_date, status ...) and of the 2013-2018 list scrape (ctr_id, phase_parsed_from_title).
Site lists come either as columns or as a separate file (ctr_no, site_name, country, province_state, city).

Files are CSV or XLSX; CSVs saved in China are often GBK, so the encoding is detected (see `decode`).
Bad cells (unknown phase spelling, unparseable or future date, duplicate 登记号) become listed warnings
naming file, row and column; only a file we cannot read at all, or one without the id and drug
columns, raises InputError.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import cast

from pipecast.domain import Phase, Source, parse_phase
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.ingest.trials import ImportResult, RowWarning, TrialRecord, split_list
from pipecast.tabular import (
    EARLIEST_PLAUSIBLE_DATE,
    XLSX_SUFFIXES,
    Note,
    Row,
    check_header,
    close_on_error,
    closing_rows,
    modified_date,
    notice,
    open_source,
    parse_date,
    separator_note,
    sniff_separator,
    table_rows,
)

REGISTRY_URL = "http://www.chinadrugtrials.org.cn/"

#: Accepted header spellings per field, in order of preference (the first non-empty cell wins).
COLUMNS: dict[str, tuple[str, ...]] = {
    "trial_id": ("登记号", "ctr_no", "ctr_id", "CTR登记号"),
    "drug": ("药物名称", "药品名称", "drug_name"),
    "indication": ("适应症", "indication"),
    "phase": ("试验分期", "standard_phase", "phase", "phase_parsed_from_title"),
    "sponsor": ("申办者/申请人名称", "申办者名称", "申请人名称", "申办者", "sponsor"),
    "first_posted": ("首次公示信息日期", "首次公示日期", "publication_date"),
    "start": ("第一例受试者入组日期", "首例受试者入组日期", "fpi_Date"),
    "status": ("试验状态", "detail_status", "status"),
    "title": ("试验通俗题目", "public_title", "common_name", "试验专业题目", "official_name"),
    "city": ("试验机构城市", "城市", "city"),
    "province": ("试验机构省份", "省（州）", "省份", "province_state"),
    "country": ("国家", "country"),
}
REQUIRED = ("trial_id", "drug")
SITE_REQUIRED = ("trial_id",)

# Phase cells such as "其它其他说明:Ib/II期": the registry's "other" choice plus free text.
_OTHER_PREFIX = re.compile(r"^(?:其它|其他)+(?:说明)?\s*[:：]?\s*")
# Bioequivalence / bioavailability studies of generics: no development phase, and not an error.
_NO_PHASE = re.compile(r"^BE|生物等效|生物利用度|bioequivalence|^$", re.IGNORECASE)
_EMBEDDED_DATE = re.compile(r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}日?")


#: How much of a CSV is read to detect its encoding; the rest is decoded as it streams.
SNIFF_BYTES = 64 * 1024


def decode(raw: bytes, file: str, encoding: str | None = None) -> str:
    """Text of a CSV saved as UTF-8 (with or without BOM), UTF-16 (BOM) or GBK/GB18030.

    UTF-8 is tried first because GBK bytes almost never form valid UTF-8. GB18030 (a superset of GBK)
    decodes nearly any byte string, so its result is accepted only if most non-ASCII characters fall in
    GB2312, the common-character set real Chinese text is written in; Latin-1 or binary junk does not.
    """
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {exc}", file=file) from None
    codec, _ = detect_encoding(raw, file, complete=True)
    return raw.decode(codec)


def detect_encoding(head: bytes, file: str, *, complete: bool) -> tuple[str, str]:
    """(codec, decoded text) for the start of a CSV, by the rules of `decode`.

    `complete` says whether `head` is the whole file; if not, a multi-byte character cut at the end of
    `head` is not an error (the incremental decoders keep it pending).
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", codecs.getincrementaldecoder("utf-16")().decode(head, final=complete)
    try:
        return "utf-8-sig", codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=complete)
    except UnicodeDecodeError as exc:
        utf8_error = exc.start
    try:
        text = codecs.getincrementaldecoder("gb18030")().decode(head, final=complete)
    except UnicodeDecodeError:
        text = ""
    wide = [c for c in text if ord(c) > 0x7F]
    common = sum(1 for c in wide if _in_gb2312(c))
    if wide and common >= 0.9 * len(wide):
        return "gb18030", text
    raise InputError(
        f"cannot tell the text encoding: not UTF-8 (bad byte at {utf8_error}) "
        "and not GBK/GB18030 Chinese text",
        file=file,
        expected="a CSV saved as UTF-8 or GBK (or pass encoding=...)",
    )


def _in_gb2312(char: str) -> bool:
    try:
        code = char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2


def fold_header(name: str) -> str:
    """How registry headers are compared: width-normalised, without spaces, case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()


def read_rows(
    path: str | Path, *, encoding: str | None = None, sheet: str | None = None, notes: list[Note] | None = None
) -> tuple[str, list[str], list[Row]]:
    """`open_rows` with the rows in a list (for small files)."""
    where, header, rows = open_rows(path, encoding=encoding, sheet=sheet, notes=notes)
    return where, header, list(rows)


def open_rows(
    path: str | Path, *, encoding: str | None = None, sheet: str | None = None, notes: list[Note] | None = None
) -> tuple[str, list[str], Iterator[Row]]:
    """(where, header, stream of the non-blank rows) of a CSV/TSV in any supported encoding, or of an XLSX.

    `where` names the file (and, for a workbook, the sheet) as errors do. A CSV's encoding is detected from
    the first `SNIFF_BYTES`; a byte sequence later in the file that does not decode raises InputError naming
    the file and row when the stream reaches it. Its separator (comma, semicolon or tab) is sniffed from
    the header; anything but a comma is said in `notes`. An XLSX is read by `pipecast.tabular.open_table`
    (sheet choice, merged cells, formulas). Two header cells that name the same column are an error.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("file not found", file=name)
    if path.suffix.lower() in XLSX_SUFFIXES:
        where, header, records = open_source(path, sheet=sheet, notes=notes)
        header = [unicodedata.normalize("NFKC", h).strip() for h in header]
        try:
            check_header(header, where, fold_header)
        except InputError:
            close_on_error(records)
            raise
        return where, header, table_rows(where, header, records)
    if sheet is not None:
        open_source(path, sheet=sheet)  # the error for --sheet with a text file
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        complete = not handle.read(1)
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
            text = codecs.getincrementaldecoder(codec)().decode(head, final=complete)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputError(f"cannot decode as {encoding}: {exc}", file=name) from None
    else:
        codec, text = detect_encoding(head, name, complete=complete)
    if complete and not text.strip():
        raise InputError("file is empty", file=name, expected="a header row and data rows")
    separator = sniff_separator(text.lstrip("\ufeff").split("\n", 1)[0])
    if separator != ",":
        notice(notes, separator_note(name, separator), "a comma-separated file")
    stream = _csv_rows(path, codec, separator, explicit=bool(encoding))
    header = cast(list[str], next(stream))
    try:
        check_header(header, name, fold_header)
    except InputError:
        stream.close()
        raise
    return name, header, cast(Iterator[Row], stream)


def _csv_rows(path: Path, codec: str, delimiter: str, *, explicit: bool) -> Generator[list[str] | Row]:
    """The normalised header (first), then each non-blank row, decoded incrementally."""
    name = str(path)
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=codec, newline="") as text:
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = [unicodedata.normalize("NFKC", h).strip() for h in next(reader, [])]
            yield header
            for record in reader:
                if any(v.strip() for v in record):
                    values = {h: (record[i] if i < len(record) else "") for i, h in enumerate(header)}
                    yield Row(name, reader.line_num, values)
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", file=name, row=reader.line_num) from None
        except UnicodeDecodeError as exc:
            how = "" if explicit else f" (the first {SNIFF_BYTES // 1024} KB looked like {codec})"
            raise InputError(
                f"cannot decode as {codec}{how}: {exc.reason}",
                file=name,
                row=_bad_line(path, codec),
                expected="a file saved in one encoding throughout (or pass encoding=...)",
            ) from None


def _bad_line(path: Path, codec: str) -> int | None:
    """Number of the first line that does not decode (None for UTF-16, whose lines we cannot split)."""
    if codec.startswith("utf-16") or codec.startswith("utf_16"):
        return None
    decoder = codecs.getincrementaldecoder(codec)()
    number = 0
    with path.open("rb") as raw:
        for number, line in enumerate(raw, 1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError:
                return number
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return number
    return None


def pick_columns(
    header: Sequence[str], spellings: Mapping[str, tuple[str, ...]], required: Sequence[str], file: str
) -> dict[str, list[str]]:
    """Each field's header columns (preferred first); InputError if a required field has none."""
    check_header(header, file, fold_header)
    folded = {fold_header(h): h for h in header}
    found: dict[str, list[str]] = {}
    for key, names in spellings.items():
        cols = [folded[n] for n in (fold_header(s) for s in names) if n in folded]
        found[key] = list(dict.fromkeys(cols))
    missing = [k for k in required if not found[k]]
    if missing:
        wanted = "; ".join(f"{k}: one of {', '.join(spellings[k])}" for k in missing)
        raise InputError(
            f"missing column(s) for {', '.join(missing)}; the header has {', '.join(header)}",
            file=file,
            row=1,
            expected=wanted,
        )
    return found


def cell(row: Row, columns: Mapping[str, list[str]], key: str) -> tuple[str, str]:
    """(value, column) of the first non-empty column for `key`; ("", first column or key) if none."""
    for column in columns.get(key, []):
        value = row.get(column)
        if value:
            return value, column
    return "", (columns.get(key) or [key])[0]


def ctr_phase(text: str) -> tuple[Phase | None, bool]:
    """(phase, understood): registry phase labels via `parse_phase` after removing the 其它…说明 prefix.

    Empty, "其它" alone and bioequivalence labels (BE, BE试验, 生物等效性试验 …) have no phase and are fine.
    """
    label = _OTHER_PREFIX.sub("", unicodedata.normalize("NFKC", text).strip()).strip()
    if _NO_PHASE.search(label):
        return None, True
    try:
        return parse_phase(label), True
    except UnknownPhaseError:
        return None, False


def read_date(
    row: Row, column: str, text: str, warnings: list[RowWarning], *, today: dt.date, fmt: str | None
) -> dt.date | None:
    """A date cell: ISO and year-first forms (2024/3/5, 2024年3月5日); day-first only with `fmt`.

    Unparseable, implausibly old or future dates give a warning and None, not a crash.
    """
    if not text:
        return None
    value = _try_date(text) or (_try_date(text, fmt) if fmt else None)
    if value is None:
        # Detail pages hold "国内：2023-03-01；国际：NA；" (domestic / international): take the earliest.
        dates = [d for d in (_try_date(re.sub(r"\s+", "", m)) for m in _EMBEDDED_DATE.findall(text)) if d]
        if dates:
            value = min(dates)
        elif re.search(r"\d", text):
            hint = "" if fmt else " (day-first dates such as 05-03-2024 need an explicit date_format)"
            warnings.append(
                RowWarning(row.file, row.number, column, f"{text!r} is not a date{hint}; left empty")
            )
            return None
        else:
            return None  # "登记人暂未填写该信息" (not filled in by the registrant)
    if value < EARLIEST_PLAUSIBLE_DATE or value > today:
        what = "in the future" if value > today else f"before {EARLIEST_PLAUSIBLE_DATE}"
        warnings.append(RowWarning(row.file, row.number, column, f"{value} is {what}; left empty"))
        return None
    return value


def _try_date(text: str, fmt: str | None = None) -> dt.date | None:
    try:
        return parse_date(text, fmt)
    except ValueError:
        return None


def read_ctr_sites(
    path: str | Path, *, encoding: str | None = None, notes: list[Note] | None = None
) -> dict[str, list[tuple[str, str, str]]]:
    """A site file (ctr_no, site_name, country, province_state, city) as {登记号: [(country, prov, city)]}."""
    where, header, rows = open_rows(path, encoding=encoding, notes=notes)
    columns = pick_columns(header, COLUMNS, SITE_REQUIRED, where)
    sites: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        trial_id, _ = cell(row, columns, "trial_id")
        site = (
            cell(row, columns, "country")[0],
            cell(row, columns, "province")[0],
            cell(row, columns, "city")[0],
        )
        sites.setdefault(trial_id.upper(), []).append(site)
    return sites


def read_ctr(
    path: str | Path,
    *,
    today: dt.date,
    sites: str | Path | None = None,
    retrieved: dt.date | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    sheet: str | None = None,
) -> ImportResult[TrialRecord]:
    """Trials from a registry export; `sites` optionally names a separate site file to join on 登记号."""
    result: ImportResult[TrialRecord] = ImportResult()
    for item in iter_ctr(
        path, sites=sites, today=today, retrieved=retrieved, encoding=encoding, date_format=date_format,
        sheet=sheet,
    ):
        if isinstance(item, RowWarning):
            result.warnings.append(item)
        else:
            result.records.append(item)
    return result


def iter_ctr(
    path: str | Path,
    *,
    today: dt.date,
    sites: str | Path | None = None,
    retrieved: dt.date | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    sheet: str | None = None,
) -> Iterator[TrialRecord | RowWarning]:
    """`read_ctr` as a stream: each record, and each warning, in file order, reading the file as it goes.

    Memory stays flat in the file's size except for the duplicate check, which keeps per 登记号 only the
    first row's number and a hash of its cells, and for the optional site file, which is read whole.
    Errors that stop the import (no such file, missing columns) raise on the first `next`; what the reader
    did on the user's behalf (a semicolon or tab separator, merged cells, another sheet) comes first, as
    warnings without a row.
    """
    path = Path(path)
    notes: list[Note] = []
    where, header, rows = open_rows(path, encoding=encoding, sheet=sheet, notes=notes)
    if not header or not any(header):
        raise InputError("file is empty", file=where, expected="a header row with 登记号 and 药物名称")
    columns = pick_columns(header, COLUMNS, REQUIRED, where)
    site_map = read_ctr_sites(sites, encoding=encoding, notes=notes) if sites else {}
    when = retrieved or modified_date(path)
    for note in notes:
        yield RowWarning(note.file, None, "", note.message)
    # 登记号 -> first row's number and a 64-bit hash of its cells, packed into one int (see `_ctr_record`):
    # enough to tell exact from conflicting duplicates in ~140 bytes per trial instead of keeping the row.
    seen: dict[str, int] = {}
    with closing_rows(rows) as stream:
        for row in stream:
            yield from _ctr_record(row, columns, seen, site_map, today=today, when=when, fmt=date_format,
                                   file=path.name)
    if site_map:
        for orphan in sorted(set(site_map) - set(seen)):
            yield RowWarning(str(sites), None, "ctr_no", f"sites for {orphan}, which is not in {path.name}")


_NUMBER_BITS = 40  # row numbers up to ~10^12
_NUMBER_MASK = (1 << _NUMBER_BITS) - 1
_FINGERPRINT_MASK = (1 << 64) - 1


def _ctr_record(
    row: Row,
    columns: Mapping[str, list[str]],
    seen: dict[str, int],
    site_map: Mapping[str, list[tuple[str, str, str]]],
    *,
    today: dt.date,
    when: dt.date,
    fmt: str | None,
    file: str,
) -> Iterator[TrialRecord | RowWarning]:
    """The warnings and (unless skipped) the record for one row; `seen` is updated."""
    trial_id, id_column = cell(row, columns, "trial_id")
    if not trial_id:
        yield RowWarning(row.file, row.number, id_column, "no 登记号; row skipped")
        return
    key = trial_id.upper()
    fingerprint = hash(tuple(row.values.values())) & _FINGERPRINT_MASK
    if key in seen:
        first_number, first_fingerprint = seen[key] & _NUMBER_MASK, seen[key] >> _NUMBER_BITS
        same = "exact duplicate" if first_fingerprint == fingerprint else "conflicting duplicate"
        yield RowWarning(
            row.file,
            row.number,
            id_column,
            f"{same} of {trial_id} (first on row {first_number}); row skipped",
        )
        return
    seen[key] = fingerprint << _NUMBER_BITS | row.number
    warnings: list[RowWarning] = []
    phase_text, phase_column = cell(row, columns, "phase")
    phase, understood = ctr_phase(phase_text)
    if not understood:
        warnings.append(
            RowWarning(
                row.file,
                row.number,
                phase_column,
                f"unknown phase {phase_text!r}; left empty (expected e.g. I期, II期, "
                "III期, IV期, I/II期, BE试验)",
            )
        )
    dates = {
        k: read_date(row, c, v, warnings, today=today, fmt=fmt)
        for k in ("first_posted", "start")
        for v, c in [cell(row, columns, k)]
    }
    yield from warnings
    site_rows = site_map.get(key, [])
    indication = cell(row, columns, "indication")[0]
    yield TrialRecord(
        registry="chinadrugtrials",
        trial_id=trial_id,
        title=cell(row, columns, "title")[0],
        drug_names=_drugs(cell(row, columns, "drug")[0]),
        sponsor=cell(row, columns, "sponsor")[0],
        phase=phase,
        start_date=dates["start"],
        first_posted=dates["first_posted"],
        status=cell(row, columns, "status")[0],
        conditions=(indication,) if indication else (),
        countries=_merge(cell(row, columns, "country")[0], (s[0] for s in site_rows)),
        cities=_merge(cell(row, columns, "city")[0], (s[2] for s in site_rows)),
        source=Source(f"ChinaDrugTrials {trial_id} ({file} row {row.number})", REGISTRY_URL, when),
        phase_text=phase_text,
        states=_merge(cell(row, columns, "province")[0], (s[1] for s in site_rows)),
    )


def _drugs(text: str) -> tuple[str, ...]:
    """Drug cells list several drugs with / ; 、 but use commas inside one name ("…片，商品名：络活喜")."""
    return tuple(dict.fromkeys(p.strip() for p in re.split(r"[/;；、|\n]+", text) if p.strip()))


def _merge(text: str, more: Iterable[str]) -> tuple[str, ...]:
    values = list(split_list(text)) + [v.strip() for v in more if v.strip()]
    return tuple(dict.fromkeys(values))
