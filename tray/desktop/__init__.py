"""The app on the desktop: login item, application-menu entry, one instance, starting Ollama, dialogs."""
