"""Mail in and out: pure parsing of raw bytes and composing of replies (no sockets here)."""
