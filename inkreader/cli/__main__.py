"""``python -m inkreader.cli``: the ``inkreader`` command, as ``torchrun ... -m inkreader.cli
train`` runs it."""

import sys

from . import main

sys.exit(main())
