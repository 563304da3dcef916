"""`python -m model SUBCOMMAND …`: the headless CLI without Qt."""

import sys

from model.cli import main

sys.exit(main())
