"""`python -m ganviz`: the same program as the `ganviz` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
