"""CLI command modules; each exposes `commands: list[click.Command]` (discovered by `lvsbench.cli`)."""
