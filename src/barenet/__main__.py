"""``python -m barenet``: the same as the ``barenet`` command."""

import sys

from barenet.cli import main

if __name__ == "__main__":
    sys.exit(main())
