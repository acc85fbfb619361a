"""`python3 -m npu_exporter` runs the exporter, as /usr/local/bin/npu-exporter does."""

import sys

from .main import main

sys.exit(main())
