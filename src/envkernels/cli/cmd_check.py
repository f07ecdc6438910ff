"""`envkernels check`: what is wrong with an environment, its project, lock and notebook.

Exit codes (docs/reference.md): 0 fine; 1 an error finding (with ``--strict``: any warning); 2 bad
arguments, or a file of the user's (pyproject, lockfile, notebook) that could not be read, each
named on stderr as ``error:``/``hint:`` and no verdict printed (a check missing an input it was
asked to use is no verdict).
Kept light: discovery and the check are imported inside ``run()``; a repeated check is answered
from its cached verdict before this module is even imported (``cli/verdicts.py``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `check` parser."""
    p = sub.add_parser(
        "check", help="check an environment against its requirements, project, lock and notebook"
    )
    p.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="environment prefix, project directory, or id/name from `envkernels list`",
    )
    p.add_argument(
        "--json", action="store_true", help='print {"environment", "findings", "input_errors"} as JSON'
    )
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.add_argument("--lock", metavar="FILE", help="compare with this lockfile (default: the project's)")
    p.add_argument("--notebook", metavar="NB.ipynb", help="check this notebook's imports and kernel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the check and print it; returns the exit code.

    ``check [TARGET] [--json] [--strict]`` also stores its verdict for the next identical run
    (``cli/verdicts.py``), which answers it without discovery or the check engine while nothing
    it read has changed.
    """
    import os
    import sys

    from envkernels import api
    from envkernels.cli import verdicts
    from envkernels.cli.output import check_exit_code, colour, json_text, print_error, use_colour
    from envkernels.inspect.check import cached_stamps
    from envkernels.render.text import check_text

    cacheable = not (args.lock or args.notebook or os.environ.get("ENVKERNELS_NO_CACHE"))
    env, stamps = verdicts.resolve(args.target)
    advisory_stamps = verdicts.advisory_stamps()  # before the check: a change after it is a miss
    report = api.check(env, lock=args.lock, notebook=args.notebook)
    if report.input_errors:
        for prob in report.input_errors:
            print_error(prob.message, prob.hint)
        return 2
    data = report.to_dict()
    text = json_text(data)
    # The text without and with colour: a verdict answered from its cache prints the one that fits.
    shown = (check_text(report) + "\n", check_text(report, colour) + "\n")
    if cacheable and stamps is not None:
        checked = cached_stamps(env)
        if checked is not None:
            # A conflict's hint depends on which advisories are on this machine (audit/local.py).
            conflict = any(f.code == "broken-requirement" for f in report.findings)
            extra = advisory_stamps if conflict else []
            verdicts.store(args.target, [*stamps, *checked, *extra], data, text, shown)
    if args.json:
        sys.stdout.write(text)
    else:
        sys.stdout.write(shown[use_colour(sys.stdout)])
    return check_exit_code(data, args.strict)
