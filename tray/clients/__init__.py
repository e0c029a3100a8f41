"""The MCP clients we register our server in: a shared registrar, one module per client's specifics, and
the CLAUDE.md section."""
