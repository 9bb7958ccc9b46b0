"""Where tests find the reference data that sits beside the repository (`../shared/data`).

Found from the repository root, never from an absolute path, so a clone anywhere works. The product never
reads it; only tests do, and under `CI=true` a test skipped for want of it fails the run (see conftest).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
