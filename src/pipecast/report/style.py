"""The page's static parts: local fonts, colours, the Content-Security-Policy, CSS and the plot loader."""

from __future__ import annotations

import json

#: Only local fonts: CJK fonts where the reader's system has them, then common sans-serifs.
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "Liberation Sans", "DejaVu Sans", Arial, sans-serif'
)
BLUE = "31,119,180"
TARGET_FILL = "rgba(44,160,44,0.14)"
IN_BAND = "#2ca02c"
OUT_BAND = "#7f9fbf"

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'"
)

CSS = """
:root { --ink: #1d2733; --muted: #5b6776; --line: #d9dee5; --accent: #1f77b4; --ok: #2ca02c; }
* { box-sizing: border-box; }
body { margin: 0; font-family: FONTS; color: var(--ink); background: #f4f6f9; line-height: 1.5; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { font-size: 1.7rem; margin: 0 0 4px; }
.meta { color: var(--muted); margin: 0 0 20px; font-size: 0.95rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px;
  margin: 0 0 20px; }
h2 { font-size: 1.25rem; margin: 0 0 10px; }
h3 { font-size: 1.05rem; margin: 18px 0 8px; }
.caption { color: var(--muted); font-size: 0.88rem; margin: 6px 0 10px; }
.headline { display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
.big { font-size: 3rem; font-weight: 700; color: var(--accent); line-height: 1.1; min-width: 7ch; }
.headline .text { flex: 1 1 420px; }
.headline .target { font-weight: 600; margin: 0 0 4px; }
.headline p { margin: 4px 0; }
.verdict { font-weight: 600; }
.warn { color: #9a5b00; }
.chart { width: 100%; min-height: 300px; }
.chart.wide { min-width: 760px; }
.scroll { overflow: auto; max-width: 100%; }
section.full { width: calc(100vw - 40px); min-width: min-content; margin-left: calc(50% - 50vw + 20px); }
section.full > p, section.full > h2, section.full > h3 { max-width: calc(100vw - 84px); }
@media (max-width: 1120px) { section.full { width: auto; margin-left: 0; } }
section.warnings { border-color: #e0b050; background: #fff8e6; }
section.warnings h2 { color: #7a4600; font-size: 1.1rem; }
section.warnings ul { margin: 0; padding-left: 1.3em; }
.data-age { color: var(--muted); font-size: 0.92rem; }
.data-age.warn { color: #9a5b00; font-weight: 600; }
.alt { color: var(--muted); font-size: 0.92em; }
.stale { display: inline-block; font-size: 0.78em; font-weight: 600; color: #7a4600; background: #fde9b8;
  border-radius: 4px; padding: 0 5px; white-space: nowrap; }
table { border-collapse: collapse; font-size: 0.9rem; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { white-space: normal; }
:lang(zh) th { word-break: keep-all; }
#contributors td:first-child { min-width: 14em; }
table.candidates td:first-child { min-width: 13em; }
table.rates { font-size: 0.84rem; }
table.rates th.num { white-space: normal; }
table.rates td.long { width: 55%; min-width: 20em; overflow-wrap: anywhere; }
table.rates details p { margin: 4px 0; }
table.rates details[open] summary { margin-bottom: 4px; }
td.nowrap, th.nowrap { white-space: nowrap; }
table.candidates { font-size: 0.82rem; }
table.candidates th, table.candidates td { padding: 4px 5px; position: static; }
table.candidates th.num { white-space: normal; min-width: 4.5em; }
table.candidates th.num.nowrap { white-space: nowrap; min-width: 0; }
table.candidates code.id { font-size: 0.85em; color: var(--muted); white-space: nowrap; }
.stale-note { color: #7a4600; }
details summary { cursor: pointer; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: 0.9em; }
footer { color: var(--muted); font-size: 0.85rem; text-align: center; }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; }
  section.full { width: auto; margin-left: 0; } }
""".replace("FONTS", FONT_STACK)

#: plotly's options for every chart. No toolbar (modebar): it sat over the panels' titles, and a report
#: is read, not edited; zooming by dragging still works and a double click resets the view.
PLOT_CONFIG: dict[str, object] = {"displayModeBar": False, "displaylogo": False, "responsive": True}

PLOT_SCRIPT = """
(function () {
  var specs = JSON.parse(document.getElementById("pipecast-figures").textContent);
  var config = CONFIG;
  Object.keys(specs).forEach(function (id) {
    var spec = specs[id];
    Plotly.newPlot(id, spec.data, spec.layout, config);
  });
})();
""".replace("CONFIG", json.dumps(PLOT_CONFIG))
