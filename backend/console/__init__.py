"""The dispatch console: static pages served by the API itself, and the board they read."""
