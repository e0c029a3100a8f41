"""Package data: the app's icons (generated from the drawing source in this folder)."""
