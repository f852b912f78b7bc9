"""`python -m kdb`: the same command line as the `kdb` console script."""

from kdb.cli.main import main

main()
