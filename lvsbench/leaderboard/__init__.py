"""Recipes, a results cache that never serves a stale result, and leaderboards regenerated from both.

- `recipes`: parse `recipes/*.toml` (one leaderboard entry each) into `Recipe` records.
- `cache`: results keyed by (recipe hash, lvsbench version, dataset card checksum, checkpoint hash).
- `build`: run every recipe that can run here, write `results/*.json` and `leaderboards/<dataset>.md|.csv`.
- `check`: rebuild into a temporary folder and compare with the committed files byte for byte.
- `reported`: the numbers the seed papers publish, merged into the leaderboards as `reported` rows.
"""
