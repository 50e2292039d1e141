"""Settings encryption: round trip, and wrong secret, tampering, moving or relabelling all fail."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.model import (
    EncryptionLevel,
    SettingsCipher,
    SettingsDecryptionFailed,
    is_encrypted,
    open_settings,
    seal_settings,
)

CIPHER = SettingsCipher("correct horse battery staple")
SECRET_LEVELS = [EncryptionLevel.SUPPORT, EncryptionLevel.ADMIN, EncryptionLevel.NEVER_DISPLAY]


@given(st.text(), st.sampled_from(SECRET_LEVELS), st.text(min_size=1, max_size=20))
def test_round_trip(text: str, level: EncryptionLevel, aad: str) -> None:
    sealed = CIPHER.encrypt(text, level=level, aad=aad)
    assert is_encrypted(sealed)
    assert sealed.startswith("$transom$1$")
    assert CIPHER.decrypt(sealed, level=level, aad=aad) == text


def test_same_text_encrypts_differently_each_time() -> None:
    first = CIPHER.encrypt("password: x", level="admin", aad="sets-1")
    second = CIPHER.encrypt("password: x", level="admin", aad="sets-1")
    assert first != second


def test_level_none_stays_plaintext() -> None:
    assert CIPHER.encrypt("a: 1", level="none", aad="sets-1") == "a: 1"
    assert CIPHER.decrypt("a: 1", level=0, aad="sets-1") == "a: 1"


def test_encrypting_twice_does_not_double_encrypt() -> None:
    sealed = CIPHER.encrypt("a: 1", level=1, aad="sets-1")
    assert CIPHER.encrypt(sealed, level=1, aad="sets-1") == sealed


def test_plaintext_stored_before_encryption_reads_back() -> None:
    assert CIPHER.decrypt("a: 1", level="admin", aad="sets-1") == "a: 1"


def test_str_and_bytes_secrets_are_the_same_key() -> None:
    sealed = SettingsCipher(b"s3cret").encrypt("a: 1", level="support", aad="sets-1")
    assert SettingsCipher("s3cret").decrypt(sealed, level="support", aad="sets-1") == "a: 1"


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        SettingsCipher("")


def test_the_secret_never_shows() -> None:
    assert "correct horse" not in repr(CIPHER)


def test_wrong_secret_fails() -> None:
    sealed = CIPHER.encrypt("a: 1", level="admin", aad="sets-1")
    with pytest.raises(SettingsDecryptionFailed, match="sets-1"):
        SettingsCipher("another secret").decrypt(sealed, level="admin", aad="sets-1")


@given(st.data())
def test_tampered_ciphertext_fails(data: st.DataObject) -> None:
    sealed = CIPHER.encrypt("password: hunter2", level="admin", aad="sets-1")
    header = len("$transom$1$")
    index = data.draw(st.integers(header, len(sealed) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != sealed[index]))
    tampered = sealed[:index] + replacement + sealed[index + 1 :]
    with pytest.raises(SettingsDecryptionFailed):
        CIPHER.decrypt(tampered, level="admin", aad="sets-1")


def test_truncated_or_garbled_ciphertext_fails() -> None:
    sealed = CIPHER.encrypt("a: 1", level="admin", aad="sets-1")
    for broken in (sealed[:20], "$transom$1$", "$transom$1$!!!!", "$transom$9$abcd"):
        with pytest.raises(SettingsDecryptionFailed):
            CIPHER.decrypt(broken, level="admin", aad="sets-1")


def test_ciphertext_moved_to_another_record_fails() -> None:
    sealed = CIPHER.encrypt("a: 1", level="admin", aad="sets-1")
    with pytest.raises(SettingsDecryptionFailed):
        CIPHER.decrypt(sealed, level="admin", aad="sets-2")


@pytest.mark.parametrize("relabelled", ["none", "support", "never_display"])
def test_ciphertext_relabelled_to_another_level_fails(relabelled: str) -> None:
    sealed = CIPHER.encrypt("a: 1", level="admin", aad="sets-1")
    with pytest.raises(SettingsDecryptionFailed):
        CIPHER.decrypt(sealed, level=relabelled, aad="sets-1")


def test_documents_seal_and_open_by_their_id() -> None:
    document = {"id": "sets-1", "encryption_level": "support", "settings_string": "a: 1", "keys": ["a"]}
    sealed = seal_settings(document, CIPHER)
    assert is_encrypted(sealed["settings_string"])
    assert document["settings_string"] == "a: 1"  # the input is untouched
    assert open_settings(sealed, CIPHER) == document
    with pytest.raises(SettingsDecryptionFailed):
        open_settings({**sealed, "id": "sets-2"}, CIPHER)
