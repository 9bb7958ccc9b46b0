"""The API's settings, declared once (name, default, meaning); `pipecast serve` options set some of them."""

from __future__ import annotations

from dataclasses import dataclass

#: Largest JSON request body accepted (bytes); larger ones are refused with 413.
DEFAULT_MAX_BODY_BYTES = 1_000_000
#: Largest upload accepted by POST /api/v1/imports (bytes).
DEFAULT_MAX_UPLOAD_BYTES = 10_000_000
#: Refused logins (per client address or user name) allowed per window before 429.
DEFAULT_LOGIN_ATTEMPTS = 5
DEFAULT_LOGIN_WINDOW_SECONDS = 900
DEFAULT_SESSION_HOURS = 12
#: Monte Carlo runs with more paths than this run as a background job (202 and a job URL).
DEFAULT_SYNC_PATHS = 20_000
#: The most Monte Carlo paths one request may ask for.
DEFAULT_MAX_PATHS = 200_000
#: Threads that run background forecast jobs.
DEFAULT_JOB_WORKERS = 2
#: Jobs queued or running at once; more are refused with 429 until some finish.
DEFAULT_MAX_PENDING_JOBS = 8
#: Forecast results kept in memory per app (keyed by the request and the store's data version).
DEFAULT_CACHE_SIZE = 64
SESSION_COOKIE = "pipecast_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """What `create_app` needs. `db` None means the settings table's database (PIPECAST_DB or the default)."""

    db: str | None = None
    #: Anyone may read (GET, forecasts) without logging in; writes still need a user.
    public_read: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    login_attempts: int = DEFAULT_LOGIN_ATTEMPTS
    login_window_seconds: int = DEFAULT_LOGIN_WINDOW_SECONDS
    session_hours: int = DEFAULT_SESSION_HOURS
    sync_paths: int = DEFAULT_SYNC_PATHS
    max_paths: int = DEFAULT_MAX_PATHS
    job_workers: int = DEFAULT_JOB_WORKERS
    max_pending_jobs: int = DEFAULT_MAX_PENDING_JOBS
    cache_size: int = DEFAULT_CACHE_SIZE
    #: Send the session cookie only over HTTPS (set behind a TLS reverse proxy).
    secure_cookies: bool = False
    #: Trust X-Forwarded-For for the client address (only behind a reverse proxy you run).
    trust_forwarded: bool = False
