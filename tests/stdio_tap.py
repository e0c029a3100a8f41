"""Run a command and copy every line it writes to stdout into a file as well (a tee for a stdio server).

    python tests/stdio_tap.py RECORD_FILE -- COMMAND [ARGS...]

Tests put it between the SDK's client and the server to check that the server's stdout carries nothing
but JSON-RPC, without changing what the client sees.
"""

from __future__ import annotations

import subprocess
import sys
import threading


def main() -> int:
    record, sep, *cmd = sys.argv[1:]
    assert sep == "--" and cmd, __doc__
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert child.stdin is not None and child.stdout is not None
    stdin, stdout = child.stdin, child.stdout

    def pump_in() -> None:
        for line in sys.stdin.buffer:
            stdin.write(line)
        stdin.close()

    threading.Thread(target=pump_in, daemon=True).start()
    with open(record, "wb") as out:
        for line in stdout:
            out.write(line)
            out.flush()
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
