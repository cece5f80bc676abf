"""Argon2id password hashing."""

from __future__ import annotations

from argon2 import Type, extract_parameters

from parcours.access import passwords
from parcours.access.passwords import hash_password, needs_rehash, verify_password


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first = hash_password("correct horse battery")
    second = hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert "correct horse" not in first
    assert verify_password(first, "correct horse battery")
    assert not needs_rehash(first)


def test_wrong_password_is_false() -> None:
    stored = hash_password("correct horse battery")
    assert verify_password(stored, "correct horse batterz") is False
    assert verify_password(stored, "") is False


def test_unknown_user_runs_the_dummy_hash_and_is_false() -> None:
    assert verify_password(None, "anything at all") is False
    # Even the dummy hash's own password never opens an unknown account.
    assert verify_password(None, "parcours-dummy-password") is False


def test_a_corrupt_hash_is_false_not_an_error() -> None:
    assert verify_password("not-a-hash", "whatever") is False


def test_production_parameters_meet_owasp() -> None:
    """The test suite swaps in a cheap hasher; the production one is checked here."""
    params = extract_parameters(passwords._DUMMY_HASH)
    assert params.type is Type.ID
    # OWASP: at least 19 MiB with 2 passes (or more memory, fewer passes).
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2
    assert passwords.MIN_LENGTH >= 10
