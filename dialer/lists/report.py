"""The reject report: one CSV line per phone value left out (row, column, value, reason, message).

Lines are collected in an unnamed temporary file while the import runs (a killed import leaves no
file behind) and written to the report path at the end. The report is UTF-8 with BOM so that Excel
shows Cyrillic; values that look like formulas are escaped (the file is meant to be opened in Excel).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from dialer.lists.excel_safety import escape_formula
from dialer.lists.model import Reject

HEADER = ("row", "column", "value", "reason", "message")
_UNSAFE_NAME = re.compile(r"[^\w.-]+")


def default_report_path(reports_dir: Path, campaign: str, now: datetime | None = None) -> Path:
    """`<reports_dir>/<campaign>-<UTC timestamp>-rejects.csv`, not colliding with an existing file."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    stem = f"{_UNSAFE_NAME.sub('_', campaign).strip('_') or 'campaign'}-{stamp}"
    path = reports_dir / f"{stem}-rejects.csv"
    counter = 2
    while path.exists():
        path = reports_dir / f"{stem}-{counter}-rejects.csv"
        counter += 1
    return path.absolute()


class RejectReport:
    """Collects rejects in row order; `save` writes the final CSV."""

    def __init__(self) -> None:
        # backslashreplace: a value with bytes the file's encoding could not decode shows them escaped.
        self._file = tempfile.TemporaryFile(  # noqa: SIM115 - owned by this object, closed by close()
            "w+", encoding="utf-8", errors="backslashreplace", newline=""
        )
        self._writer = csv.writer(self._file)
        self._writer.writerow(HEADER)
        self.count = 0

    def add(self, rejects: Iterable[Reject]) -> None:
        for reject in rejects:
            self._writer.writerow(
                (
                    reject.row,
                    escape_formula(reject.column),
                    escape_formula(reject.value),
                    reject.reason.value,
                    escape_formula(reject.message),
                )
            )
            self.count += 1

    def save(self, path: Path) -> Path:
        """Write the report to `path` (atomically: a partial file is never visible under that name)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        self._file.flush()
        self._file.seek(0)
        with partial.open("w", encoding="utf-8-sig", newline="") as out:
            shutil.copyfileobj(self._file, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
        return path

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RejectReport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
