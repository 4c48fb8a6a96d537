"""``python -m eval`` — same as ``policy-qa eval``."""

import argparse
import sys

from eval.args import add_arguments
from eval.runner import run_cli

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m eval")
    add_arguments(parser)
    sys.exit(run_cli(parser.parse_args()))
