"""`envkernels history [TARGET] [--json]`: the audit trail of environment changes.

One line per ``sync``, ``fork``, ``cleanup`` (and its undo) and lock written into a project:
when, who, through what (``cli``, ``rest``, ``kernel``), on which environment, and the result.
Without TARGET: every environment discovery finds, every history kept in the cache (environments
moved away included) and the server-wide log of shared environments (``$ENVKERNELS_HISTORY_LOG``).
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `history` parser."""
    p = sub.add_parser("history", help="who changed which environment, when, and how it went")
    p.add_argument(
        "target", nargs="?", metavar="TARGET", help="one environment: a prefix, project directory, id or name"
    )
    p.add_argument("--root", action="append", default=[], metavar="DIR", help="also look under DIR")
    p.add_argument("--json", action="store_true", help="print the lines as a JSON array")
    p.set_defaults(func=run)


def _what(line: dict[str, object]) -> str:
    """A few words on the line's details: the lock, the number of changes, where a fork went."""
    action = line.get("action")
    if action == "fork":
        source = line.get("source")
        name = source.get("name") if isinstance(source, dict) else None
        return f"to {line['dest']}" if line.get("dest") else f"from {name}"
    if action == "lock":
        return str(line.get("notebook") or line.get("path") or "")
    if action in ("cleanup", "cleanup-undo"):
        return f"trash {line.get('trash_id')}"
    changes = line.get("changes")
    lock = line.get("lock")
    text = f"{lock}" if lock else ""
    if isinstance(changes, list):
        text += f" ({len(changes)} change{'' if len(changes) == 1 else 's'})"
    return text.strip()


def run(args: argparse.Namespace) -> int:
    """Print the trail; exit 0 (2 on bad input)."""
    from envkernels import api
    from envkernels.cli.output import print_json, print_table

    if args.target is not None:
        lines = api.history(api.resolve(args.target))
    else:
        roots = list(args.root)
        lines = api.history(environments=api.list_environments(roots=roots))
    if args.json:
        print_json(lines)
        return 0
    rows = []
    for line in lines:
        env = line.get("environment") if isinstance(line.get("environment"), dict) else {}
        assert isinstance(env, dict)
        rows.append(
            (
                str(line.get("when", ""))[:19].replace("T", " "),
                str(line.get("user") or str(line.get("who", "")).split("@")[0]),
                str(line.get("via") or "cli"),
                str(line.get("action") or "sync"),
                str(env.get("name") or env.get("prefix") or "?") + (" (team)" if env.get("shared") else ""),
                str(line.get("result") or ""),
                _what(line),
            )
        )
    print_table(("WHEN (UTC)", "USER", "VIA", "ACTION", "ENVIRONMENT", "RESULT", "WHAT"), rows)
    return 0
