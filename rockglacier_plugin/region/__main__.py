"""``python -m rockglacier_plugin.region``: see ``rockglacier_plugin.region.cli``."""

import sys

from .cli import main

sys.exit(main())
