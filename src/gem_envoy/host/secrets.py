"""Secure attributes: which names are secret, and the key that encrypts their values.

Values of secure attributes (passwords, tokens, API keys) are encrypted with AES-256-GCM
before they reach the database, so a copied database file gives nothing away without the
key file that lives beside it. The key never leaves this module's `KeyRing`: it is not
kept as bytes on the object, and no repr, str or exception contains it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE_NAME = ".encryption_key"
PREFIX = "gem-crypt:"
MASK = "********"

_SECURE_WORDS = ("password", "secret", "api_key", "private_key", "token")
_KEY_BYTES = 32
_IV_BYTES = 12
_TAG_BYTES = 16
_KEY_FILE_VERSION = 1


class SecretError(Exception):
    """A secure value cannot be encrypted or decrypted."""


class KeyFileError(SecretError):
    """The encryption key file is missing, damaged or unsafe."""


# Facts *about* a secret, which a user must see to act on (when to renew it, what kind it is,
# a warning about it), are not secrets themselves; they would otherwise match the word "token".
_NOT_SECRET_SUFFIXES = ("_expires_at", "_type", "_warning")


# Names that drivers declare secure (`AttributeSpec.secure`) although the rule of words does
# not catch them. Process-wide, like the rule: the store, the API and the log masking all ask
# `is_secure`, and whoever hands the host its drivers declares them first (`declare_secure`).
_declared: frozenset[str] = frozenset()


def declare_secure(names: Iterable[str]) -> None:
    """Treat these attribute names as secure from now on, in this process (never undone)."""
    global _declared
    _declared = _declared | frozenset(names)


def is_secure(name: str) -> bool:
    """Whether an attribute of this name holds a secret (its value is encrypted and masked)."""
    return name in _declared or _secret_by_its_words(name)


# Asked for every value of every poll (store, sink, masking); the words of a name never
# change their answer, so it is worked out once per name.
@functools.lru_cache(maxsize=4096)
def _secret_by_its_words(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(_NOT_SECRET_SUFFIXES):
        return False
    return any(word in lowered for word in _SECURE_WORDS)


def mask(value: str) -> str:
    """What the API shows instead of a secure value.

    A constant, so that not even the length of the secret leaks.
    """
    del value
    return MASK


def is_encrypted(text: str) -> bool:
    """Whether `text` looks like the output of `KeyRing.encrypt`."""
    return text.startswith(PREFIX) and text.count(":") == 3


class KeyRing:
    """The AES-256-GCM key of one database, loaded from (or created as) its key file."""

    __slots__ = ("_aead", "_path")

    def __init__(self, key: bytes, path: Path | None = None) -> None:
        if len(key) != _KEY_BYTES:
            raise KeyFileError(f"an encryption key must be {_KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self._path = path

    def __repr__(self) -> str:
        return f"KeyRing(path={str(self._path)!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        # Pickling would write the key wherever the pickle goes; refuse.
        raise TypeError("a KeyRing cannot be pickled")

    @property
    def path(self) -> Path | None:
        """The key file this key came from (None for a key made in memory)."""
        return self._path

    @classmethod
    def generate(cls) -> KeyRing:
        """A fresh random key that lives only in memory (for tests and tools)."""
        return cls(os.urandom(_KEY_BYTES))

    @classmethod
    def load_or_create(cls, db_path: Path) -> KeyRing:
        """The key of the database at `db_path`, from `.encryption_key` in the same directory.

        A new key file is made only when the database does not exist yet: making one for an
        existing database would silently orphan every secret already stored in it.
        """
        key_path = db_path.parent / KEY_FILE_NAME
        if key_path.exists():
            return cls(_read_key_file(key_path, db_path), key_path)
        if db_path.exists():
            raise KeyFileError(
                f"encryption key file {key_path} is missing; secure attributes in {db_path} "
                f"cannot be read. Restore the key file from the backup made with this database "
                f"(or move the database away to start afresh)."
            )
        db_path.parent.mkdir(parents=True, exist_ok=True)
        key = os.urandom(_KEY_BYTES)
        try:
            _create_key_file(key_path, key)
        except FileExistsError:
            # Another process made it between our check and our create: use theirs.
            return cls(_read_key_file(key_path, db_path), key_path)
        return cls(key, key_path)

    def encrypt(self, plaintext: str) -> str:
        """`gem-crypt:<iv>:<tag>:<ciphertext>`, each part base64; a new random IV every call."""
        iv = os.urandom(_IV_BYTES)
        sealed = self._aead.encrypt(iv, plaintext.encode("utf-8"), None)
        ciphertext, tag = sealed[:-_TAG_BYTES], sealed[-_TAG_BYTES:]
        parts = (_b64(iv), _b64(tag), _b64(ciphertext))
        return PREFIX + ":".join(parts)

    def decrypt(self, text: str) -> str:
        """The plaintext of an `encrypt` result; SecretError if it is not ours or was altered."""
        iv, tag, ciphertext = _split(text)
        try:
            plain = self._aead.decrypt(iv, ciphertext + tag, None)
        except InvalidTag:
            raise SecretError(
                "cannot decrypt secure attribute: wrong encryption key or damaged value"
            ) from None
        return plain.decode("utf-8")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _split(text: str) -> tuple[bytes, bytes, bytes]:
    damaged = SecretError("cannot decrypt secure attribute: the stored value is damaged")
    if not is_encrypted(text):
        raise damaged
    try:
        iv, tag, ciphertext = (
            base64.b64decode(part, validate=True) for part in text[len(PREFIX) :].split(":")
        )
    except (binascii.Error, ValueError):
        raise damaged from None
    if len(iv) != _IV_BYTES or len(tag) != _TAG_BYTES:
        raise damaged
    return iv, tag, ciphertext


def _create_key_file(key_path: Path, key: bytes) -> None:
    # O_EXCL with mode 0o600 makes the file private from its first instant (the umask can
    # only remove bits) and never overwrites a key that already exists.
    body = json.dumps({"version": _KEY_FILE_VERSION, "key": _b64(key)}).encode("ascii")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(key_path, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        # A half-written key file would read as "damaged" on the next start.
        key_path.unlink(missing_ok=True)
        raise


def _read_key_file(key_path: Path, db_path: Path) -> bytes:
    info = key_path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"encryption key file {key_path} is not a regular file")
    if os.name == "posix" and info.st_mode & 0o077:
        raise KeyFileError(
            f"encryption key file {key_path} can be read or written by other users "
            f"(mode {stat.S_IMODE(info.st_mode):o}); run `chmod 600 {key_path}` and restart"
        )
    damaged = KeyFileError(
        f"encryption key file {key_path} is damaged; secure attributes in {db_path} cannot "
        f"be read. Restore the key file from a backup."
    )
    # `from None` throughout: a chained JSON error would carry the file's text, i.e. the key.
    try:
        document = json.loads(key_path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        raise damaged from None
    if not isinstance(document, dict) or document.get("version") != _KEY_FILE_VERSION:
        raise damaged
    encoded = document.get("key")
    if not isinstance(encoded, str):
        raise damaged
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise damaged from None
    if len(key) != _KEY_BYTES:
        raise damaged
    return key
