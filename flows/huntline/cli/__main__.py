"""``python -m huntline.cli``, as the integration tests run the command."""

import sys

from huntline.cli import main

sys.exit(main())
