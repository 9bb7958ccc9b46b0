"""Bundled data sets (one folder each, e.g. `chongqing/`: assets.csv, events.csv, facts.csv, README.md).

Every number in these files carries its source in the same row; see docs/data.md.
"""
