"""Task families: each a ``DialogueTask`` subclass with its script, scorer and metrics."""
