"""Password rules and hashing. Rules are plain Python; hashing is Argon2id (argon2-cffi), whose
parameters travel inside each hash, so raising them later rehashes on the next sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 128
# The most used passwords of public breach lists that meet the length rule; a real deployment
# would check a k-anonymity breach API as well.
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "qwertyuiop",
        "password12",
        "password123",
        "password1234",
        "iloveyou12",
        "qwerty1234",
        "1qaz2wsx3edc",
        "letmein123",
        "welcome123",
        "abcdefghij",
        "0987654321",
        "passw0rd123",
        "administrator",
    }
)


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` is too weak for ``username``, as a sentence for them; None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"the password needs at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password may have at most {MAX_LENGTH} characters"
    if "\x00" in password:
        return "the password may not contain a NUL character"
    folded = password.casefold()
    if len(set(folded)) < 4:
        return "the password needs at least 4 different characters"
    if folded in COMMON:
        return "that password is one of the most common ones; choose another"
    if username and username.casefold() in folded:
        return "the password may not contain the username"
    return None


class Passwords:
    """Argon2id hashes (the library's defaults: 64 MiB, 3 passes). Slow on purpose: call it off
    the event loop."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._decoy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_nothing(self, password: str) -> None:
        """The work of a verification, for a user that does not exist (answers take as long)."""
        if self._decoy is None:
            self._decoy = self._hasher.hash("a decoy that no password matches")
        self.verify(self._decoy, password)

    def needs_rehash(self, hashed: str) -> bool:
        return self._hasher.check_needs_rehash(hashed)
