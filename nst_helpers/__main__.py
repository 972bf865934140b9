"""``python -m nst_helpers``: see ``nst_helpers.cli``."""

import sys

from .cli import main

sys.exit(main())
