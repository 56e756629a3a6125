"""The command line of `couchcast` (the desktop tray app) and `couchcast serve` (headless): it parses
and hands over to `desktop.app` or `desktop.serve`; docs/design.md, "The contract"."""

from __future__ import annotations

import argparse

from desktop.console import ensure_streams
from server import config


def port_number(text: str) -> int:
    """A TCP port for argparse: waitress would quietly wrap 70000 round to 4464."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535, 0 picks a free one)")
    return port


def access_key(text: str) -> str:
    """An access key for argparse: one a link and a cookie can carry (a 500 otherwise, later)."""
    problem = config.access_key_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="couchcast", description="A private video server for the phones in the house."
    )
    parser.add_argument(
        "--background", action="store_true", help="start in the tray without opening the browser (at login)"
    )
    # Internal: this same program shows the folder dialog in a child process (desktop/picker.py).
    parser.add_argument("--pick-folder", metavar="RESULT_FILE", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve the library headless (no tray, no browser)")
    serve.add_argument("folders", nargs="*", metavar="FOLDER", help="also share these for this run")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument(
        "--port", type=port_number, help=f"port (default: the saved one, {config.DEFAULT_PORT})"
    )
    serve.add_argument(
        "--access-key", type=access_key, help="access key for this run (default: the saved one)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    ensure_streams()
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from desktop.serve import serve

        return serve(folders=tuple(args.folders), host=args.host, port=args.port, access_key=args.access_key)
    if args.pick_folder:
        from desktop.picker import run_dialog

        return run_dialog(args.pick_folder)
    from desktop import app

    return app.run(open_browser=not args.background)
