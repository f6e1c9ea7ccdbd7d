"""``python -m kb_index`` — see :mod:`kb_index.cli`."""

import sys

from kb_index.cli import main

sys.exit(main())
