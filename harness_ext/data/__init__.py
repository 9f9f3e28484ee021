"""Loaders (one per upstream schema), the bundled project-written data, and generators."""
