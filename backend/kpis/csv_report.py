"""A KPI report as CSV (`Accept: text/csv`): one header line, one line per group."""

import csv
import io

from backend.kpis.schemas import ROW_FIELDS, KpiReport


def to_csv(report: KpiReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([report.group_by, *ROW_FIELDS[1:]])
    for row in report.rows:
        writer.writerow(
            ["" if value is None else value for value in (getattr(row, f) for f in ROW_FIELDS)]
        )
    return out.getvalue()
