"""Runner-side pieces (hooks, loops) of cavsync_mm."""
