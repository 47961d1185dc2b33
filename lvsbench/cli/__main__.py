"""`python -m lvsbench.cli`: the `lvsbench` command."""

from lvsbench.cli import main

main()
