"""The resident server and the relay in front of it (issue 13).

Claude Code starts the registered command for every session. That command is a relay (`relay.py`) which
imports only the standard library, connects Claude Code's stdio to the user's resident server (`service.py`)
over a private Unix socket, and serves the session in-process where no resident can help. The modules marked
stdlib below import nothing else (a test checks it): they run before the decision, so they decide the start time.

    places.py   (stdlib)  the app's folders, the socket and lock paths, the on/off switch
    wire.py     (stdlib)  the hello lines, the build fingerprint, the environment that travels
    peer.py     (stdlib)  the uid of the process at the other end of a Unix socket
    spawn.py    (stdlib)  the command the app starts itself with; starting a detached resident
    relay.py    (stdlib)  the relay: connect, hello, pump, in-flight tracking, fallback
    service.py  (mcp)     the resident: lock, listener, one MCP session per connection
"""
