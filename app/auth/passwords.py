"""Password hashing with argon2 through pwdlib."""

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_hasher = PasswordHash((Argon2Hasher(),))
MIN_PASSWORD_LENGTH = 10



@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the e-mail is unknown, so that both cases take the same time.
    return _hasher.hash("northstar-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False
    return _hasher.verify(password, password_hash)
