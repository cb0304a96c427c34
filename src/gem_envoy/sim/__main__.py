"""``python -m gem_envoy.sim``: run a simulated gateway until Ctrl-C or SIGTERM."""

import argparse

from .cli import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gem_envoy.sim", description="Run a simulated Enphase IQ Gateway."
    )
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
