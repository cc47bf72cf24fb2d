"""`python -m ganviz.cli`: the same program as the `ganviz` command."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
