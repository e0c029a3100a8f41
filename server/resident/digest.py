"""SHA-256 without loading OpenSSL (stdlib).

`hashlib` loads the OpenSSL bindings, about 5 ms of the relay's start for two short digests (the build
fingerprint and the folder-set key). CPython's own implementation is a builtin module: `_sha256` up to 3.11,
`_sha2` from 3.12; where neither exists, hashlib's. The digests are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:
        from _sha256 import sha256
    except ImportError:  # 3.12 and later
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256

__all__ = ["sha256"]
