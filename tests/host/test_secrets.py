"""Secure attribute names, the key file and AES-GCM encryption."""

from __future__ import annotations

import base64
import json
import os
import pickle
import stat
from pathlib import Path

import pytest

from gem_envoy.host.secrets import (
    KEY_FILE_NAME,
    MASK,
    KeyFileError,
    KeyRing,
    SecretError,
    is_encrypted,
    is_secure,
    mask,
)
from gem_envoy.host.store import Store


def key_file(db_path: Path) -> Path:
    return db_path.parent / KEY_FILE_NAME


def stored_key(db_path: Path) -> str:
    key = json.loads(key_file(db_path).read_text())["key"]
    assert isinstance(key, str)
    return key


@pytest.mark.parametrize(
    "name",
    ["token", "Token", "api_token", "password", "WIFI_PASSWORD", "client_secret", "api_key",
     "ssh_private_key", "installer_token_expiry"],
)  # fmt: skip
def test_secure_names(name: str) -> None:
    assert is_secure(name)


@pytest.mark.parametrize(
    "name",
    # token_type / token_expires_at describe a secret; the user must see them to renew it.
    ["host", "serial", "power_w", "api", "key", "private", "tok", "token_type", "token_expires_at"],
)
def test_ordinary_names(name: str) -> None:
    assert not is_secure(name)


def test_mask_reveals_nothing_of_the_value() -> None:
    assert mask("a") == mask("a much longer secret value") == mask("") == MASK


def test_key_file_is_created_private_with_a_32_byte_key(db_path: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        KeyRing.load_or_create(db_path)
    finally:
        os.umask(old_umask)
    info = key_file(db_path).stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    document = json.loads(key_file(db_path).read_text())
    assert document["version"] == 1
    assert len(base64.b64decode(document["key"])) == 32


def test_key_file_is_reused_on_the_next_start(db_path: Path) -> None:
    first = KeyRing.load_or_create(db_path)
    before = key_file(db_path).read_bytes()
    db_path.touch()
    second = KeyRing.load_or_create(db_path)
    assert key_file(db_path).read_bytes() == before
    assert second.decrypt(first.encrypt("hello")) == "hello"


def test_missing_key_for_an_existing_database_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"")
    with pytest.raises(KeyFileError, match="is missing") as caught:
        KeyRing.load_or_create(db_path)
    message = str(caught.value)
    assert str(key_file(db_path)) in message and "Restore the key file" in message
    assert not key_file(db_path).exists()  # a fresh key would orphan the stored secrets


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        json.dumps({"version": 1, "key": base64.b64encode(b"short").decode()}).encode(),
        json.dumps({"version": 1, "key": "not base64!"}).encode(),
        json.dumps({"version": 2, "key": base64.b64encode(bytes(32)).decode()}).encode(),
        json.dumps({"version": 1}).encode(),
    ],
)
def test_damaged_key_file_is_refused_clearly(db_path: Path, body: bytes) -> None:
    path = key_file(db_path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    with pytest.raises(KeyFileError, match="is damaged") as caught:
        KeyRing.load_or_create(db_path)
    # A chained JSON error would carry the file's text: the key.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620, 0o602])
def test_key_file_open_to_others_is_refused(db_path: Path, mode: int) -> None:
    KeyRing.load_or_create(db_path)
    key_file(db_path).chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        KeyRing.load_or_create(db_path)


def test_encrypted_format_and_round_trip(keyring: KeyRing) -> None:
    text = keyring.encrypt("s3cret ✓")
    assert is_encrypted(text)
    prefix, iv, tag, ciphertext = text.split(":")
    assert prefix == "gem-crypt"
    assert len(base64.b64decode(iv)) == 12 and len(base64.b64decode(tag)) == 16
    assert len(base64.b64decode(ciphertext)) == len("s3cret ✓".encode())
    assert keyring.decrypt(text) == "s3cret ✓"
    assert keyring.encrypt("s3cret ✓") != text  # a fresh IV every time
    assert keyring.decrypt(keyring.encrypt("")) == ""


def test_another_key_cannot_decrypt(keyring: KeyRing) -> None:
    text = keyring.encrypt("the secret")
    with pytest.raises(SecretError, match="wrong encryption key or damaged value"):
        KeyRing.generate().decrypt(text)


@pytest.mark.parametrize("part", [1, 2, 3])
def test_tampered_value_cannot_be_decrypted(keyring: KeyRing, part: int) -> None:
    parts = keyring.encrypt("the secret").split(":")
    raw = bytearray(base64.b64decode(parts[part]))
    raw[0] ^= 1
    parts[part] = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(SecretError, match="cannot decrypt secure attribute"):
        keyring.decrypt(":".join(parts))


@pytest.mark.parametrize(
    "text", ["plain", "gem-crypt:", "gem-crypt:a:b:c", "gem-crypt:!!:AAAA:AAAA", "gem-crypt:::"]
)
def test_malformed_value_is_a_clear_error(keyring: KeyRing, text: str) -> None:
    with pytest.raises(SecretError, match="cannot decrypt secure attribute"):
        keyring.decrypt(text)


def test_key_never_shows_in_repr_str_or_pickle(db_path: Path) -> None:
    keyring = KeyRing.load_or_create(db_path)
    key = stored_key(db_path)
    assert key not in repr(keyring) and key not in str(keyring)
    assert base64.b64decode(key).hex() not in repr(keyring)
    with pytest.raises(TypeError):
        pickle.dumps(keyring)


def test_wrong_key_length_message_does_not_contain_the_key(db_path: Path) -> None:
    secret = base64.b64encode(os.urandom(31)).decode()
    fd = os.open(key_file(db_path), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"version": 1, "key": secret}, handle)
    with pytest.raises(KeyFileError) as caught:
        KeyRing.load_or_create(db_path)
    assert secret not in str(caught.value) and secret not in repr(caught.value)


async def test_store_refuses_a_key_that_is_not_the_databases(db_path: Path) -> None:
    store = await Store.open(db_path, KeyRing.load_or_create(db_path))
    await store.close()
    key_file(db_path).unlink()
    other = db_path.parent / "other" / "host.db"
    wrong = KeyRing.load_or_create(other)
    with pytest.raises(KeyFileError, match="is not the key of"):
        await Store.open(db_path, wrong)
