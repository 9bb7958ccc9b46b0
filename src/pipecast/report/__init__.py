"""Reports for people: one self-contained HTML page per forecast."""

from pipecast.report.html import format_probability, render_report, write_report

__all__ = ["format_probability", "render_report", "write_report"]
