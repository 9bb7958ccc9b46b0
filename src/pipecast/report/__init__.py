"""Reports for people: one self-contained HTML page per forecast."""

from pipecast.report.format import format_probability
from pipecast.report.html import render_report, write_report

__all__ = ["format_probability", "render_report", "write_report"]
