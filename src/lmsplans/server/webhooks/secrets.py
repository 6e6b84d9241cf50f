"""Signing secrets: made, shown once, kept encrypted, and used to sign.

A secret is Standard Webhooks' `whsec_` followed by 24 random bytes in base64. The signer
needs the secret itself (HMAC), so it cannot be hashed: it is stored encrypted with Fernet
under a key of the server's (`LMSPLANS_WEBHOOK_SECRET_KEY`, or a file in the data directory
made on first use). A database copied without that key holds no usable secret. Secrets never
reach a log: the values here are only encrypted, decrypted or signed with.
"""

from __future__ import annotations

import base64
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from standardwebhooks.webhooks import Webhook

from lmsplans.server.settings import Settings

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
SECRET_BYTES = 24
KEY_FILE = "webhook-secrets.key"


def new_secret() -> str:
    """A new signing secret, as the receiver is given it."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key_from_file(path: Path) -> bytes:
    """The key in `path`, made there (readable by this user only) when there is none."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:  # O_EXCL: two processes starting at once agree on the first one's key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return key


class SecretBox:
    """Encrypts secrets for storage and decrypts them to sign. The key is read (or the key
    file made) on first use, so a process that never touches a webhook makes no file."""

    def __init__(self, *, key: str | None, key_file: Path) -> None:
        self._key = key
        self._key_file = key_file
        self._fernet: Fernet | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box of `LMSPLANS_WEBHOOK_SECRET_KEY`, or of the key file in the data
        directory."""
        return cls(key=settings.webhook_secret_key, key_file=settings.data_dir / KEY_FILE)

    @property
    def fernet(self) -> Fernet:
        if self._fernet is None:
            key = self._key.encode() if self._key else _key_from_file(self._key_file)
            self._fernet = Fernet(key)
        return self._fernet

    def seal(self, secret: str) -> str:
        return self.fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self.fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "a webhook secret cannot be decrypted: the server's webhook secret key is not "
                "the one it was stored with"
            ) from None


def signature(secrets_in_use: list[str], *, msg_id: str, timestamp_s: int, body: str) -> str:
    """The `webhook-signature` field: one `v1,<base64>` per secret, apart by spaces
    (a rotated secret signs beside its successor for a day)."""
    when = datetime.fromtimestamp(timestamp_s, tz=UTC)
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=when, data=body) for secret in secrets_in_use
    )
