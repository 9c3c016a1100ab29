"""People, their sessions, and machine clients' API tokens, kept in the needle database.

- Passwords are hashed with argon2id (argon2-cffi); a hash made with weaker parameters is
  replaced at the next good sign-in.
- After ``LOCKOUT_FAILURES`` failed sign-ins in a row an account is locked for
  ``LOCKOUT_SECONDS``; a good password does not open a locked account early.
- Sessions are server-side: the cookie holds a random secret, the database its sha256, so a
  database reader cannot sign in as anyone. A session ends after ``SESSION_IDLE_SECONDS``
  without a request or ``SESSION_MAX_SECONDS`` after sign-in, whichever comes first, and at
  sign-out. Each session has its own CSRF token.
- API tokens (``ndl_`` + 43 random characters) are shown once, kept as sha256 only (they are
  random, so a slow hash adds nothing), revocable, and record when they were last used.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from needle.access.roles import Role
from needle.errors import AccessError, LoginRefused
from needle.store.schema import SessionRow, TokenRow, UserRow

__all__ = [
    "LOCKOUT_FAILURES",
    "LOCKOUT_SECONDS",
    "SESSION_IDLE_SECONDS",
    "SESSION_MAX_SECONDS",
    "Accounts",
    "Principal",
    "TokenInfo",
    "UserInfo",
]

LOCKOUT_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
SESSION_IDLE_SECONDS = 30 * 60
SESSION_MAX_SECONDS = 12 * 3600
MIN_PASSWORD = 12
TOKEN_PREFIX = "ndl_"
#: last_used_at is written at most this often per token: a lookup-heavy client must not turn
#: every request into a database write
_TOUCH_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in person (``kind`` "user") or a machine client ("token")."""

    name: str
    role: Role
    kind: str
    #: the session's id (the cookie secret's sha256) for a person; None for a token
    session_id: str | None = None
    csrf: str | None = None


@dataclass(frozen=True)
class UserInfo:
    name: str
    role: Role
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns: they were written in UTC
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccessError(
            f"no role {role!r}: choose one of {', '.join(r.value for r in Role)}"
        ) from None


def _hasher():  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    return PasswordHasher()


class Accounts:
    """Users, sessions and tokens over a needle database's engine (``Store.engine``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._session = sessionmaker(engine, expire_on_commit=False)
        self._passwords = _hasher()
        # a hash to verify against when the name is unknown, so that an unknown name costs
        # as much time as a wrong password and the two cannot be told apart
        self._decoy = self._passwords.hash(secrets.token_hex(16))

    # -- users -------------------------------------------------------------------------------

    def add_user(self, name: str, role: str | Role, password: str) -> UserInfo:
        if not name or len(name) > 100 or not name.isprintable() or name != name.strip():
            raise AccessError("a user name must be 1 to 100 printable characters")
        if len(password) < MIN_PASSWORD:
            raise AccessError(f"a password must be at least {MIN_PASSWORD} characters")
        row = UserRow(
            name=name, role=_role(role).value, password_hash=self._passwords.hash(password)
        )
        with self._session.begin() as session:
            if session.scalar(sa.select(UserRow.id).where(UserRow.name == name)) is not None:
                raise AccessError(f"user {name!r} exists already")
            session.add(row)
        return self._user_info(row)

    def set_password(self, name: str, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccessError(f"a password must be at least {MIN_PASSWORD} characters")
        with self._session.begin() as session:
            row = self._user_row(session, name)
            row.password_hash = self._passwords.hash(password)
            row.failed_logins = 0
            row.locked_until = None
            session.execute(sa.delete(SessionRow).where(SessionRow.user_id == row.id))

    def set_disabled(self, name: str, disabled: bool) -> None:
        with self._session.begin() as session:
            row = self._user_row(session, name)
            row.disabled = disabled
            if disabled:
                session.execute(sa.delete(SessionRow).where(SessionRow.user_id == row.id))

    def users(self) -> list[UserInfo]:
        with self._session() as session:
            rows = session.scalars(sa.select(UserRow).order_by(UserRow.name))
            return [self._user_info(row) for row in rows]

    @staticmethod
    def _user_info(row: UserRow) -> UserInfo:
        return UserInfo(
            row.name,
            Role(row.role),
            row.disabled,
            _aware(row.locked_until),
            _aware(row.last_login_at),
        )

    @staticmethod
    def _user_row(session: sa.orm.Session, name: str) -> UserRow:
        row = session.scalar(sa.select(UserRow).where(UserRow.name == name))
        if row is None:
            raise AccessError(f"no user named {name!r}")
        return row

    def authenticate(self, name: str, password: str, *, now: datetime | None = None) -> UserInfo:
        """The user, when the password is right and the account open; else ``LoginRefused``."""
        from argon2.exceptions import InvalidHashError, VerificationError

        now = now or datetime.now(UTC)
        refused: str | None = None
        # the transaction commits what a failure counts; the refusal is raised after it
        with self._session.begin() as session:
            row = session.scalar(sa.select(UserRow).where(UserRow.name == name))
            if row is None:
                with contextlib.suppress(VerificationError):
                    self._passwords.verify(self._decoy, password)
                refused = "bad-credentials"
            elif (locked := _aware(row.locked_until)) is not None and locked > now:
                refused = "locked"
            else:
                try:
                    self._passwords.verify(row.password_hash, password)
                except (VerificationError, InvalidHashError):
                    row.failed_logins += 1
                    if row.failed_logins >= LOCKOUT_FAILURES:
                        row.locked_until = now + timedelta(seconds=LOCKOUT_SECONDS)
                        row.failed_logins = 0
                    refused = "bad-credentials"
                else:
                    if row.disabled:
                        refused = "disabled"
                    else:
                        if self._passwords.check_needs_rehash(row.password_hash):
                            row.password_hash = self._passwords.hash(password)
                        row.failed_logins = 0
                        row.locked_until = None
                        row.last_login_at = now
                        user = self._user_info(row)
        if refused is not None:
            raise LoginRefused(refused)
        return user

    # -- sessions ------------------------------------------------------------------------------

    def open_session(
        self, name: str, *, ip: str = "", now: datetime | None = None
    ) -> tuple[str, Principal]:
        """A new session for user ``name``: (the cookie's secret, who it signs in)."""
        now = now or datetime.now(UTC)
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._session.begin() as session:
            user = self._user_row(session, name)
            session.add(
                SessionRow(
                    id=_digest(secret),
                    user_id=user.id,
                    csrf=csrf,
                    ip=ip[:64],
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + timedelta(seconds=SESSION_MAX_SECONDS),
                )
            )
            role = Role(user.role)
        return secret, Principal(name, role, "user", _digest(secret), csrf)

    def session(self, secret: str, *, now: datetime | None = None) -> Principal | None:
        """Who the cookie ``secret`` signs in, or None (unknown, expired, idle, disabled)."""
        now = now or datetime.now(UTC)
        sid = _digest(secret)
        with self._session.begin() as session:
            found = session.execute(
                sa.select(SessionRow, UserRow).join(UserRow).where(SessionRow.id == sid)
            ).first()
            if found is None:
                return None
            row, user = found
            expires, seen = _aware(row.expires_at), _aware(row.last_seen_at)
            assert expires is not None and seen is not None
            idle = now - seen > timedelta(seconds=SESSION_IDLE_SECONDS)
            if expires <= now or idle or user.disabled:
                session.delete(row)
                return None
            if (now - seen).total_seconds() > 10:
                row.last_seen_at = now
            return Principal(user.name, Role(user.role), "user", sid, row.csrf)

    def close_session(self, session_id: str) -> None:
        with self._session.begin() as session:
            session.execute(sa.delete(SessionRow).where(SessionRow.id == session_id))

    # -- API tokens ----------------------------------------------------------------------------

    def create_token(self, name: str, role: str | Role) -> str:
        """A new token; the secret is returned here once and never stored."""
        if not name or len(name) > 100 or not name.isprintable():
            raise AccessError("a token name must be 1 to 100 printable characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._session.begin() as session:
            if session.scalar(sa.select(TokenRow.id).where(TokenRow.name == name)) is not None:
                raise AccessError(f"a token named {name!r} exists already (revoke it first)")
            session.add(
                TokenRow(
                    name=name,
                    role=_role(role).value,
                    token_hash=_digest(secret),
                    prefix=secret[: len(TOKEN_PREFIX) + 6],
                )
            )
        return secret

    def revoke_token(self, name: str, *, now: datetime | None = None) -> None:
        with self._session.begin() as session:
            row = session.scalar(sa.select(TokenRow).where(TokenRow.name == name))
            if row is None:
                raise AccessError(f"no token named {name!r}")
            if row.revoked_at is None:
                row.revoked_at = now or datetime.now(UTC)
                # the name is free again for a replacement; the row stays for the record
                row.name = f"{name} (revoked {row.revoked_at:%Y-%m-%dT%H:%M:%SZ} #{row.id})"[:100]

    def tokens(self) -> list[TokenInfo]:
        with self._session() as session:
            rows = session.scalars(sa.select(TokenRow).order_by(TokenRow.created_at))
            return [
                TokenInfo(
                    row.name,
                    Role(row.role),
                    row.prefix,
                    _aware(row.created_at) or row.created_at,
                    _aware(row.last_used_at),
                    _aware(row.revoked_at),
                )
                for row in rows
            ]

    def verify_token(self, secret: str, *, now: datetime | None = None) -> Principal | None:
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        now = now or datetime.now(UTC)
        digest = _digest(secret)
        with self._session() as session:
            row = session.scalar(sa.select(TokenRow).where(TokenRow.token_hash == digest))
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(row.token_hash, digest):
                return None
            last = _aware(row.last_used_at)
            principal = Principal(row.name, Role(row.role), "token")
            if last is None or (now - last).total_seconds() >= _TOUCH_SECONDS:
                session.execute(
                    sa.update(TokenRow).where(TokenRow.id == row.id).values(last_used_at=now)
                )
                session.commit()
            return principal
