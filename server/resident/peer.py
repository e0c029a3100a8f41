"""The user at the other end of a Unix socket (stdlib).

Linux answers SO_PEERCRED (pid, uid, gid of the connecting process); macOS and the BSDs LOCAL_PEERCRED, an
xucred whose second field is the uid. Elsewhere, or when the call fails, the answer is None: the socket's
folder (0700) and mode (0600) are then the only guard, which they are meant to be anyway.
"""

from __future__ import annotations

import socket
import struct
import sys

_SOL_LOCAL = 0  # <sys/un.h> on macOS
_LOCAL_PEERCRED = 0x001
_XUCRED = struct.Struct("=Ii")  # cr_version, cr_uid (the start of struct xucred)
_UCRED = struct.Struct("=iII")  # pid, uid, gid


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process that connected `sock`, or None where the platform cannot tell."""
    try:
        if sys.platform.startswith("linux"):
            option = getattr(socket, "SO_PEERCRED", 17)
            _, uid, _ = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
            return int(uid)
        if sys.platform == "darwin" or "bsd" in sys.platform:
            raw = sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, 76)  # sizeof(struct xucred)
            _, uid = _XUCRED.unpack_from(raw)
            return int(uid)
    except (OSError, struct.error):
        return None
    return None
