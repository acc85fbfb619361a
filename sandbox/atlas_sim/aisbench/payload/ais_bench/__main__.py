import sys

from ais_bench.benchmark.cli import main

sys.exit(main())
