"""Settings for CyberTipline reports: who reports, to which environment, with which login.

In: the ``[ncmec]`` table of a TOML file (``needle.config.read_toml``) and, for the login,
the environment variables ``NEEDLE_NCMEC_USERNAME``/``NEEDLE_NCMEC_PASSWORD`` or a credentials
file the config names. Out: an ``NcmecConfig`` and, when one is configured, ``Credentials``.
Credentials are never stored in the database and never written to a submission's log.

::

    [ncmec]
    environment = "test"                  # or "production"
    esp_name = "Example Photos"           # the service, written as espService
    publicly_available = false            # were the files public on the service
    credentials_file = "/etc/needle/ncmec-login.toml"   # username = …, password = …
    [ncmec.reporter]
    first_name = "Sam"
    last_name = "Doe"
    email = "reports@example.org"
    phone = "+1 555 0100"
    [ncmec.contact]                       # optional: who NCMEC should contact, if not them
    email = "legal@example.org"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from needle.config import read_toml, table
from needle.errors import ConfigError
from needle.jsonvalue import JSONObject, JSONValue
from needle.report.cybertip.model import INCIDENT_TYPES

__all__ = [
    "BASE_URLS",
    "DEFAULT_INCIDENT_TYPE",
    "ENVIRONMENTS",
    "PASSWORD_VARIABLE",
    "USERNAME_VARIABLE",
    "Contact",
    "Credentials",
    "NcmecConfig",
    "how_to_configure",
    "load_config",
    "load_credentials",
]

#: the service's base URLs, from NCMEC's Reporting API documentation ("Access")
BASE_URLS: dict[str, str] = {
    "test": "https://exttest.cybertip.org/ispws",
    "production": "https://report.cybertip.org/ispws",
}
ENVIRONMENTS = tuple(BASE_URLS)
DEFAULT_INCIDENT_TYPE = INCIDENT_TYPES[0]
USERNAME_VARIABLE = "NEEDLE_NCMEC_USERNAME"
PASSWORD_VARIABLE = "NEEDLE_NCMEC_PASSWORD"
WHAT = "NCMEC report config"


@dataclass(frozen=True)
class Contact:
    """A person of the reporting organisation."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None

    @classmethod
    def parse(cls, data: JSONValue, where: str) -> Contact:
        if not isinstance(data, dict):
            raise ConfigError(f"{WHAT}: [{where}] must be a table")
        known = {"first_name", "last_name", "email", "phone"}
        if unknown := sorted(set(data) - known):
            raise ConfigError(f"{WHAT}: [{where}] has unknown keys {unknown}: use {sorted(known)}")
        return cls(**{k: _string(data, k, where) for k in known})


@dataclass(frozen=True)
class NcmecConfig:
    """The ``[ncmec]`` settings. ``base_url`` overrides the environment's (a local test
    server, a proxy); ``source`` is the file they came from (None: defaults)."""

    environment: str = "test"
    esp_name: str | None = None
    reporter: Contact = field(default_factory=Contact)
    contact: Contact | None = None
    incident_type: str = DEFAULT_INCIDENT_TYPE
    publicly_available: bool | None = None
    credentials_file: Path | None = None
    base_url: str | None = None
    source: Path | None = None

    @property
    def url(self) -> str:
        return (self.base_url or BASE_URLS[self.environment]).rstrip("/")


@dataclass(frozen=True)
class Credentials:
    """The login NCMEC gave the organisation; the password never shows in ``repr``."""

    username: str
    password: str = field(repr=False)


def _string(data: Mapping[str, JSONValue], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{WHAT}: [{where}] {key} must be non-empty text")
    return value.strip()


def load_config(path: str | Path | None) -> NcmecConfig:
    """The ``[ncmec]`` settings of the TOML file at ``path``; defaults when ``path`` is None
    (a preview without a reporter fails later, saying what to set)."""
    if path is None:
        return NcmecConfig()
    data: JSONObject = table(read_toml(path, WHAT), "ncmec", WHAT)
    environment = _string(data, "environment", "ncmec") or "test"
    if environment not in BASE_URLS:
        raise ConfigError(f"{WHAT}: environment must be one of {', '.join(ENVIRONMENTS)}")
    incident = _string(data, "incident_type", "ncmec") or DEFAULT_INCIDENT_TYPE
    if incident not in INCIDENT_TYPES:
        raise ConfigError(f"{WHAT}: incident_type must be one of: {'; '.join(INCIDENT_TYPES)}")
    public = data.get("publicly_available")
    if public is not None and not isinstance(public, bool):
        raise ConfigError(f"{WHAT}: publicly_available must be true or false")
    credentials = _string(data, "credentials_file", "ncmec")
    base = Path(path).parent
    return NcmecConfig(
        environment=environment,
        esp_name=_string(data, "esp_name", "ncmec"),
        reporter=Contact.parse(data.get("reporter", {}), "ncmec.reporter"),
        contact=Contact.parse(data["contact"], "ncmec.contact") if "contact" in data else None,
        incident_type=incident,
        publicly_available=public,
        credentials_file=(base / credentials) if credentials else None,
        base_url=_string(data, "base_url", "ncmec"),
        source=Path(path),
    )


def load_credentials(
    config: NcmecConfig, environ: Mapping[str, str] | None = None
) -> Credentials | None:
    """The login from ``NEEDLE_NCMEC_USERNAME``/``NEEDLE_NCMEC_PASSWORD``, else from the
    config's ``credentials_file``; None when neither is set."""
    env = os.environ if environ is None else environ
    username, password = env.get(USERNAME_VARIABLE), env.get(PASSWORD_VARIABLE)
    if username and password:
        return Credentials(username, password)
    if config.credentials_file is None:
        return None
    data = table(read_toml(config.credentials_file, "NCMEC credentials"), "ncmec", WHAT)
    name, secret = data.get("username"), data.get("password")
    if not isinstance(name, str) or not isinstance(secret, str) or not name or not secret:
        raise ConfigError(
            f"NCMEC credentials file {config.credentials_file} needs username and password"
        )
    return Credentials(name, secret)


def how_to_configure() -> str:
    """What a person does to make sending possible (the CLI and the web page say it)."""
    return (
        f"set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE}, or name a credentials file "
        "(username = …, password = …) as credentials_file in the [ncmec] table of --config"
    )
