"""Orchestration on top of everything: the demo and the leaderboard engine (build, check, cache)."""
