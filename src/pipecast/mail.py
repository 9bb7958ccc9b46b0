"""Alert e-mail delivery through a configurable SMTP server (settings `smtp_host`, `smtp_port`, `smtp_from`,
`smtp_timeout`; environment PIPECAST_SMTP_*).

`deliver_pending(store)` sends every queued digest e-mail; a server that refuses, drops the connection or
does not answer within the timeout leaves the delivery queued, with the attempt counted and the error kept,
and the failure logged (logger `pipecast.mail`). Nothing is lost: the next `pipecast alerts send` retries.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from pipecast import clock
from pipecast.errors import InputError

if TYPE_CHECKING:
    from pipecast.store import Store

log = logging.getLogger("pipecast.mail")


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int = 25
    sender: str = "pipecast@localhost"
    timeout: float = 10.0

    @classmethod
    def from_settings(cls) -> SmtpServer:
        from pipecast.settings import from_env, int_value

        host = from_env("smtp_host")
        if not host:
            raise InputError("no SMTP server is set", field="PIPECAST_SMTP_HOST",
                             expected="the host name of an SMTP server (digests stay queued until one is set)")
        return cls(host, int_value("smtp_port"), from_env("smtp_from"), float(int_value("smtp_timeout")))


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    failed: int
    errors: tuple[str, ...] = ()


def message(server: SmtpServer, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = server.sender, to, subject
    msg.set_content(body, charset="utf-8")
    return msg


def send(server: SmtpServer, to: str, subject: str, body: str) -> None:
    """Send one message; OSError or smtplib.SMTPException on failure."""
    with smtplib.SMTP(server.host, server.port, timeout=server.timeout) as smtp:
        smtp.send_message(message(server, to, subject, body))


def _failure(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"refused: {exc.smtp_code} {text}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "refused: " + "; ".join(f"{a} {c}" for a, (c, _) in exc.recipients.items())
    return f"{type(exc).__name__}: {exc}"


def deliver_pending(store: Store, server: SmtpServer, now: dt.datetime | None = None) -> SendReport:
    """Try every queued delivery once; each outcome is recorded at once (a crash loses no sent mark)."""
    from pipecast.store import alerts

    sent = failed = 0
    errors: list[str] = []
    for item in alerts.pending(store):
        at = now or clock.now()
        try:
            send(server, item.address, item.subject, item.body)
        except (OSError, smtplib.SMTPException) as exc:
            reason = _failure(exc)
            log.warning("delivery %d to %s failed (attempt %d), kept queued: %s", item.delivery_id, item.address,
                        item.attempts + 1, reason)
            alerts.record_attempt(store, item.delivery_id, reason, at)
            failed += 1
            errors.append(f"delivery {item.delivery_id} to {item.address}: {reason}")
            continue
        alerts.record_attempt(store, item.delivery_id, "", at)
        sent += 1
    return SendReport(sent, failed, tuple(errors))
