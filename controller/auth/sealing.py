"""Drain URLs (their credentials) encrypted at rest, with Fernet
(`cryptography`: AES-128-CBC and HMAC-SHA256, authenticated, versioned).

The key comes from WF_SECRET_KEY (comma-separated keys: the first encrypts,
every one decrypts, so a key is rotated by putting the new one first). Without
it, a key file (WF_SECRET_KEY_FILE, default in the state directory) is made,
mode 0600, on first start and read after. The trade-off: a key file beside
the database protects a copied database, a dump or a backup of it, not an
attacker who can read the state directory itself; replicas, and a database
on another host, want WF_SECRET_KEY from a secret store instead.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from controller.db.files import create_private_file
from controller.errors import SettingsError
from controller.settings import ControllerSettings


class Sealer:
    """Encrypts and decrypts short texts (drain URLs) with the controller's keys."""

    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SettingsError(
                "the stored drain credentials cannot be decrypted with this key: "
                "start with the WF_SECRET_KEY (or key file) they were sealed with"
            ) from None


def load_sealer(settings: ControllerSettings) -> Sealer:
    """The keys of WF_SECRET_KEY, else those of the key file (made when missing)."""
    if settings.secret_key:
        return Sealer([key.strip().encode() for key in settings.secret_key.split(",")])
    path = settings.secret_key_file
    if path is None:
        raise SettingsError("set WF_SECRET_KEY or WF_SECRET_KEY_FILE (drain credentials)")
    create_private_file(path, Fernet.generate_key() + b"\n")
    try:
        keys = [line.strip() for line in path.read_bytes().splitlines() if line.strip()]
        return Sealer(keys)
    except (OSError, ValueError):
        raise SettingsError(
            f"WF_SECRET_KEY_FILE {path} must hold Fernet keys, one a line"
        ) from None
