"""Who is asking: password hashing (argon2), the `Principal` a request acts as, and what each role may do.

    viewer  reads (and runs forecasts)
    editor  reads; writes for its own organisation only (its candidates, their events, its facts)
    admin   everything, users included
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipecast.domain import Asset, Organisation, normalise_name, sponsors

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from pipecast.api.deps import AppState

ANONYMOUS_NAME = "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """The user a request acts as. `via` is "token", "session" or "anonymous"; `csrf_token` is set for a
    browser session (forms must send it back)."""

    name: str
    role: str
    org_id: str = ""
    via: str = "anonymous"
    csrf_token: str = ""
    user_id: int | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.via == "anonymous"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ANONYMOUS = Principal(ANONYMOUS_NAME, "")


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of the password (with its own salt and parameters)."""
    return str(_hasher().hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash; False for an empty or malformed hash."""
    if not password_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


#: A hash to verify against when the user does not exist, so that the time taken does not tell.
def dummy_hash() -> str:
    return hash_password("pipecast-no-such-user")


def owns_asset(who: Principal, asset: Asset, organisations: list[Organisation]) -> bool:
    """Whether `who` may write for this candidate: an admin always; an editor when the candidate's sponsor is
    the editor's organisation (by id, name or alias); nobody else."""
    if who.is_admin:
        return True
    if who.role != "editor" or not who.org_id:
        return False
    org = next((o for o in organisations if o.id == who.org_id), None)
    if org is None:
        return normalise_name(asset.sponsor) == normalise_name(who.org_id) != ""
    return sponsors(org, asset) or normalise_name(asset.sponsor) == normalise_name(org.id)


def not_owned(state: AppState, who: Principal, assets: list[Asset]) -> list[str]:
    """Ids of the candidates `who` may not write, as new rows or over the stored ones: an editor writes only
    for its own organisation's candidates (used by the API's and the dashboard's imports)."""
    if who.is_admin:
        return []
    orgs = state.views.organisations()
    stored = {a.id: a for a in state.store.assets()}
    return [a.id for a in assets
            if not owns_asset(who, a, orgs) or (a.id in stored and not owns_asset(who, stored[a.id], orgs))]


def owns_entity(who: Principal, entity: str, organisations: list[Organisation]) -> bool:
    """Whether `who` may record facts (deals, funding) about `entity`: an admin always; an editor for its own
    organisation (entity given as its id, name or an alias)."""
    if who.is_admin:
        return True
    if who.role != "editor" or not who.org_id:
        return False
    org = next((o for o in organisations if o.id == who.org_id), None)
    names = {who.org_id} if org is None else {org.id, org.name, *org.aliases}
    return normalise_name(entity) in {normalise_name(n) for n in names if n}
