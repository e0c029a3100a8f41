"""The tray app and the command line: watches Ollama, registers the server in Claude Code, keeps it healthy."""
