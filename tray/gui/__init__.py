"""The tray app: its main, the controller, state and menu model, the icon and its backend, the monitor and
the guard, and the connection test."""
