"""`couchcast` (the desktop tray app) and `couchcast serve` (headless): docs/design.md, "The contract"."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from server import config, network, runner
from server.dirs import user_dirs
from server.library import folders

PORT_ATTEMPTS = 20


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
    serve.add_argument(
        "--dlna",
        action=argparse.BooleanOptionalAction,
        help="also be a DLNA media server for TVs on the home network (default: the saved setting, off)",
    )
    return parser


@contextlib.contextmanager
def unless_nobody_reads(stream: TextIO) -> Iterator[TextIO]:
    """Write to `stream`; if whoever read it has gone (`couchcast serve | head`), go on serving
    and send the rest of what is said to nowhere, instead of dying on BrokenPipeError."""
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())  # Python's docs' recipe


def say(message: str = "", *, error: bool = False) -> None:
    with unless_nobody_reads(sys.stderr if error else sys.stdout) as stream:
        print(message, file=stream)


def start_server(host: str, port: int | None, saved_port: int, access_key: str) -> runner.ServerHandle:
    """Start on the asked port (a taken one is an error), or on the saved one or the next free one."""
    if port is not None:
        return runner.start(host, port, access_key=access_key)
    last_error: runner.PortInUse | None = None
    for candidate in range(saved_port, min(saved_port + PORT_ATTEMPTS, 65536)):
        try:
            handle = runner.start(host, candidate, access_key=access_key)
        except runner.PortInUse as exc:
            last_error = exc
            continue
        if candidate != saved_port:
            say(f"Port {saved_port} is taken; using {candidate} (saved for next time).")
            try:
                config.update(port=candidate)
            except config.ConfigError as exc:
                say(str(exc), error=True)
        return handle
    raise last_error or runner.PortInUse(f"No free port from {saved_port}.")


def print_phone_link(url: str) -> None:
    import segno

    say(f"Phone:  {url}")
    say("Scan this with a phone on the same Wi-Fi:")
    qr = segno.make(url, error="m")
    with unless_nobody_reads(sys.stdout):
        try:
            qr.terminal(compact=True)
        except UnicodeEncodeError:
            qr.terminal()


def serve(args: argparse.Namespace, early_log: logging.Handler | None = None) -> int:
    """Headless: share, print the links and a QR code, serve until SIGINT/SIGTERM.

    Logs go to the file from the first line (`early_log`, set up here unless the tray app already
    did): without a handler, warnings would fall through to stderr beside the messages said here.
    """
    from desktop import logs

    early_log = early_log or logs.setup_early_logging()
    stop_signals = catch_stop_signals()  # before the port opens: a SIGTERM from then on stops cleanly
    loaded = config.load()
    for problem in loaded.problems:
        say(problem, error=True)
    folders.load_saved(loaded.config)
    folders.share_for_this_run(args.folders)  # problems are reported below with the saved ones

    access_key = args.access_key or loaded.config.access_key
    try:
        handle = start_server(args.host, args.port, loaded.config.port, access_key)
    except runner.PortInUse as exc:
        say(f"{exc} Choose another with --port, or stop the other program.", error=True)
        return 1
    except OSError as exc:
        say(f"Could not listen on {args.host}:{args.port}: {exc.strerror or exc}", error=True)
        return 1
    except ValueError:  # waitress's word for a host name it cannot use
        say(f"Could not listen on {args.host}: not an address of this computer.", error=True)
        return 1
    logs.retire_early_logging(early_log)  # Django's logging writes the same file from here on
    for problem in handle.problems:
        say(problem, error=True)

    shares = folders.shared()
    available = [s for s in shares if s.available]
    for share in shares:
        if not share.available:
            say(f"Not shared: {share.problem}", error=True)
    if available:
        say(f"Sharing {len(available)} folder(s): " + ", ".join(s.path for s in available))
    else:
        say("No folders are shared yet: name one, as in `couchcast serve ~/Videos`.")
    say(f"Local:  {network.link(handle.local_host, handle.port, access_key)}")
    if args.host in ("127.0.0.1", "localhost", "::1"):
        say("Listening on this computer only: phones cannot reach it (use --host 0.0.0.0).")
    else:
        print_phone_link(network.phone_url(handle.port, access_key, args.host))
    say(f"Logs:   {user_dirs().logs}")
    wants_dlna = args.dlna if args.dlna is not None else loaded.config.dlna
    dlna = start_dlna(handle, args.host) if wants_dlna else None
    say("Press Ctrl+C to stop.")

    wait_for_stop_signal(handle, stop_signals)
    say("Stopping…")
    if dlna is not None:
        dlna.stop()
    handle.stop()
    return 0


def start_dlna(handle: runner.ServerHandle, host: str):
    """The DLNA media server beside the running one, or None (said why) when it cannot start."""
    from server.dlna.hookup import install
    from server.dlna.service import make_service

    service = make_service(handle.port, host)
    try:
        service.start()
    except OSError as exc:
        say(f"DLNA is off: UDP port 1900 cannot be opened ({exc.strerror or exc}).", error=True)
        return None
    install(service)
    say(f'DLNA:   TVs on the home network see "{service.friendly_name}".')
    return service


def catch_stop_signals() -> list[int]:
    """Record SIGINT and SIGTERM in the returned list instead of dying on them.

    The handlers only record: calling into threading primitives from a signal handler while the
    main thread waits on them deadlocked here (docs/design.md, "Desktop facts").
    """
    stop_signals: list[int] = []

    def request_stop(signum, frame):
        stop_signals.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop_signals


def wait_for_stop_signal(handle: runner.ServerHandle, stop_signals: list[int]) -> None:
    """Block until SIGINT or SIGTERM was caught (or the server dies)."""
    while not stop_signals and handle.is_running():
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    _ensure_streams()
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.pick_folder:
        from desktop.picker import run_dialog

        return run_dialog(args.pick_folder)
    from desktop import app

    return app.run(open_browser=not args.background)


def _ensure_streams() -> None:
    """A windowed build (no console) has no stdout/stderr: printing must not crash it."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
