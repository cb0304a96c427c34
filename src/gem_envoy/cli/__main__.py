"""`python -m gem_envoy.cli`, as the tests start it."""

import sys

from gem_envoy.cli import main

sys.exit(main())
