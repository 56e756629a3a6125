"""HTML pages: the library, the player, the phone pairing page, and the friendly error pages."""
