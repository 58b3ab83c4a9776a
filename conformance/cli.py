"""``python -m conformance`` / ``autograd-spec``: the spec's command line.

Each sub-command lives in its own module and is imported only when used.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# sub-command -> (module with add_arguments(parser) and run(args) -> int, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "conformance.validate",
        "check case files: schema, step language, and values against the oracle",
    ),
    "coverage": (
        "conformance.coverage",
        "write docs/coverage.md from the cases (or check it is current)",
    ),
    "backends": ("conformance.listing", "list the backend adapters this installation knows"),
    "report": ("conformance.report", "turn JSON run reports into Markdown and HTML"),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograd-spec", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        modules[name] = module
        module.add_arguments(commands.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args))


if __name__ == "__main__":
    sys.exit(main())
