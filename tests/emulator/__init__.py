"""Internals of the Ollama emulator; import the public API from `tests.ollama_emulator`."""
