"""``python -m cli`` is ``policy-qa`` (tests and benchmarks start servers this way)."""

import sys

from cli.main import main

sys.exit(main())
