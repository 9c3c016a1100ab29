"""The one exception hierarchy of needle.

::

    NeedleError                       anything needle raises on purpose
    ├── ConfigError                   a setting or option is wrong; the message says which
    ├── PluginError                   a registry is inconsistent (duplicate or unknown name)
    ├── OptionalDependencyError       an extra is not installed; the message names it
    ├── MediaError                    one file could not be read; the scan records it and goes on
    │   ├── MediaTooLarge             over the file-size, pixel, time or archive limits (bombs)
    │   │   └── NestedTooDeep         an archive inside archives deeper than the nesting limit
    │   ├── UnsupportedMedia          not an image needle can decode
    │   │   └── EncryptedMedia        an encrypted archive member: no password, not read
    │   ├── CorruptMedia              truncated or malformed data
    │   ├── UnsafeArchiveMember       path traversal, links or absolute names in an archive
    │   ├── SymlinkNotFollowed        a symbolic link below a scanned folder: its target is not
    │   │   │                         read through it (scanned under its own path, if at all)
    │   │   └── OutsideRoot           ... and the target is outside the scanned folders
    │   ├── NotRegularFile            a FIFO, device or socket: never opened
    │   └── EmptyArchive              an archive that holds no files
    ├── SignalFormatError             a hash string is not valid for its signal type
    ├── BankError                     a bank does not exist, or cannot be written
    │   └── BankFormatError           a whole bank file is unreadable (per-line problems are
    │       │                         reported, not raised)
    │       └── NoEntriesError        a bank file held not one entry that could be imported
    ├── StoreError                    the database cannot be opened or migrated
    │   └── JobRunning                another live process is running this scan job
    ├── ReportError                   a report cannot be built, written, previewed or sent as asked
    │   └── SubmissionFailed          a sent report failed at a step; names its submission id
    └── LedgerError                   the generation ledger cannot be written, or an export or
                                      checkpoint given to check it is unreadable or not signed

Errors that reach a user say what was wrong and what to do. ``MediaError`` subclasses carry a
short machine-readable ``reason`` stored with the file's record.
"""

from __future__ import annotations

__all__ = [
    "BankError",
    "BankFormatError",
    "ConfigError",
    "CorruptMedia",
    "EmptyArchive",
    "EncryptedMedia",
    "JobRunning",
    "LedgerError",
    "MediaError",
    "MediaTooLarge",
    "NeedleError",
    "NestedTooDeep",
    "NoEntriesError",
    "NotRegularFile",
    "OptionalDependencyError",
    "OutsideRoot",
    "PluginError",
    "ReportError",
    "SignalFormatError",
    "StoreError",
    "SubmissionFailed",
    "SymlinkNotFollowed",
    "UnsafeArchiveMember",
    "UnsupportedMedia",
]


class NeedleError(Exception):
    """Base of every error needle raises on purpose."""


class ConfigError(NeedleError):
    """A setting or command-line option is invalid."""


class PluginError(NeedleError):
    """A plugin registry is inconsistent: a duplicate or unknown name."""


class OptionalDependencyError(NeedleError, ImportError):
    """An optional extra is needed but not installed."""


class MediaError(NeedleError):
    """A single file could not be read. Recorded per file; never stops a run."""

    reason = "unreadable"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class MediaTooLarge(MediaError):
    """The file, its pixel count, or an archive's expanded size is over the limit."""

    reason = "too-large"


class UnsupportedMedia(MediaError):
    """The bytes are not an image format needle decodes."""

    reason = "unsupported"


class CorruptMedia(MediaError):
    """The file is truncated or malformed."""

    reason = "corrupt"


class UnsafeArchiveMember(MediaError):
    """An archive member has an unsafe name (``../``, absolute path) or is a link."""

    reason = "unsafe-archive-member"


class NestedTooDeep(MediaTooLarge):
    """An archive nested inside archives deeper than ``Limits.max_archive_depth``."""

    reason = "too-deep"


class EncryptedMedia(UnsupportedMedia):
    """An encrypted archive member: needle has no password and does not guess one."""

    reason = "encrypted"


class SymlinkNotFollowed(MediaError):
    """A symbolic link below a scanned folder; nothing is read through it."""

    reason = "link"


class OutsideRoot(SymlinkNotFollowed):
    """A symbolic link whose target is outside the scanned folders: never read."""

    reason = "outside-root"


class NotRegularFile(MediaError):
    """A FIFO, device or socket: opening one can block or has side effects, so it is not."""

    reason = "not-a-regular-file"


class EmptyArchive(MediaError):
    """An archive with no files in it: recorded so that it is not silently missing."""

    reason = "empty-archive"


class SignalFormatError(NeedleError, ValueError):
    """A hash string is not valid for its signal type."""


class BankError(NeedleError):
    """A bank does not exist or cannot be written."""


class BankFormatError(BankError):
    """A bank file cannot be read at all (wrong format, not JSON/XML, unreadable)."""


class NoEntriesError(BankFormatError):
    """Every line or record of a bank file was rejected (or there were none): nothing was
    imported, and no bank was created for it."""


class StoreError(NeedleError):
    """The database cannot be opened, migrated, or written."""


class JobRunning(StoreError):
    """Another live process runs the scan job this one would resume."""


class AccessError(NeedleError):
    """Accounts and tokens: a bad name or role, an unknown user or token."""


class LoginRefused(AccessError):
    """A sign-in that did not succeed. The message shown to the person is always the same
    (``PUBLIC_MESSAGE``), whatever the cause, so it tells an attacker nothing; ``reason``
    (``bad-credentials``, ``locked``, ``disabled``) goes to the audit log."""

    PUBLIC_MESSAGE = "wrong name or password, or the account is locked: try again later"

    def __init__(self, reason: str) -> None:
        super().__init__(self.PUBLIC_MESSAGE)
        self.reason = reason


class AuditError(NeedleError):
    """The audit log could not be written or read."""


class ReportError(NeedleError):
    """A report (CyberTipline report, VICS export, triage report) cannot be built, written,
    previewed or sent as asked: nothing eligible, an unwritable destination, a bad report
    setting, a bad answer from the receiver, a file that cannot be read."""


class SubmissionFailed(ReportError):
    """A submission failed at one of its steps. The submission row keeps every step's answer
    and the error; ``submission_id`` names it (an open report was retracted first)."""

    def __init__(self, message: str, *, submission_id: int) -> None:
        super().__init__(f"submission {submission_id}: {message}")
        self.submission_id = submission_id


class LedgerError(NeedleError):
    """The generation ledger could not be appended to, or an export or checkpoint given to
    verify it is unreadable or not signed by the key given."""
