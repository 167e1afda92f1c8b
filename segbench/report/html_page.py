"""The report's `index.html`: one self-contained file (CSS inline, images as data: URIs, no script,
no network). Every piece of text from a record goes through `html.escape`."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

import pandas as pd

from segbench.report.figures import Plot
from segbench.report.markdown_page import SCALING_NOTE

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
padding:0 1rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.warning{background:#fff4e5;border:2px solid #f0a020;border-radius:6px;padding:.8rem 1rem;font-size:1.05rem}
.note{color:#555}
table{border-collapse:collapse;font-size:.82rem;margin:.6rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:14rem}
th{background:#f5f5f7}tr.failed td{background:#fdecec}
figure{margin:1.2rem 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#555;font-size:.9rem}
"""

_SECTION_TITLES = {
    "performance": "Latency and throughput",
    "memory": "Peak memory",
    "video": "Video",
    "volume": "3D volumes",
    "telemetry": "Telemetry",
    "machines": "Machines compared",
    "scaling": "Throughput scaling",
}


def _table(frame: pd.DataFrame, *, failed_rows: Sequence[bool] | None = None, wrap_columns=("note", "software")) -> str:
    if frame.empty:
        return '<p class="note">(none)</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = ' class="failed"' if failed_rows is not None and failed_rows[i] else ""
        cells = "".join(
            f'<td{" class=wrap" if col in wrap_columns else ""}>{html.escape(str(value))}</td>'
            for col, value in zip(frame.columns, row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(plot: Plot) -> str:
    data = base64.b64encode(plot.png).decode("ascii")
    return (
        f'<figure id="{html.escape(plot.filename)}"><img alt="{html.escape(plot.title)}" '
        f'src="data:image/png;base64,{data}"><figcaption><b>{html.escape(plot.title)}</b>. '
        f"{html.escape(plot.caption)} (<a href=\"{html.escape(plot.filename)}\">PNG</a>)</figcaption></figure>"
    )


def render_html(
    *,
    title: str,
    generated: str,
    random_statement: str | None,
    notes: Sequence[str],
    environment: pd.DataFrame,
    results: pd.DataFrame,
    plots: Sequence[Plot],
    scaling: pd.DataFrame | None = None,
) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data: \'self\'; style-src \'unsafe-inline\'">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Generated {html.escape(generated)} by segbench.</p>',
    ]
    if random_statement:
        parts.append(f'<p class="warning"><b>Random weights.</b> {html.escape(random_statement)}</p>')
    for note in notes:
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    parts.append("<h2>Machines</h2>")
    parts.append(_table(environment))
    parts.append(f"<h2>Results ({len(results)} records)</h2>")
    parts.append(_table(results, failed_rows=[s != "ok" for s in results.get("status", [])]))
    if scaling is not None and not scaling.empty:
        parts.append("<h2>Throughput scaling</h2>")
        parts.append(f'<p class="note">{html.escape(SCALING_NOTE)}</p>')
        parts.append(_table(scaling))
    for section, heading in _SECTION_TITLES.items():
        chosen = [p for p in plots if p.section == section]
        if chosen:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
            parts.extend(_figure(p) for p in chosen)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
