"""The static leaderboard: canonical data hashes, site builder."""
