"""`livekit-godot`: the command line.

Exit codes: 0 success; 1 the operation failed (a token did not verify, the server could not
start); 2 bad input (a field, option or token that is not what was expected). Errors are one
line on stderr naming the field and what was expected; secrets are never printed except the
development server's well-known dev pair.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import NoReturn

from . import __version__, tokens
from ._devserver import (
    ENV_BINARY,
    SERVER_VERSION,
    DevServer,
    ServerConfig,
    ensure_server_binary,
)
from ._errors import (
    ConfigError,
    LiveKitGodotError,
    MalformedTokenError,
    TokenError,
    TokenInputError,
)
from ._exit import exit_process
from ._process import install_stop_handlers

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""Ctrl-C outside a command's own handling (128 + SIGINT, as shells report it)."""
_INPUT_ERRORS = (ConfigError, TokenInputError, MalformedTokenError)


class _Parser(argparse.ArgumentParser):
    """argparse with our one-line error format."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _err(message: str) -> None:
    print(f"livekit-godot: error: {message}", file=sys.stderr)


def _info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _warn_profiles() -> None:
    """Say on stderr when other users may read or change the profiles file."""
    for line in tokens.profile_warnings():
        print(f"livekit-godot: warning: {line}", file=sys.stderr, flush=True)


def _uses_profile(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "profile", None) or os.environ.get("LIVEKIT_GODOT_PROFILE"))


# --- token ------------------------------------------------------------------------------


def _credentials(args: argparse.Namespace) -> tokens.Credentials:
    if _uses_profile(args):
        _warn_profiles()
    secret = None
    if getattr(args, "api_secret_stdin", False):
        secret = _read_secret()
    return tokens.resolve_credentials(
        url=args.url, api_key=args.api_key, api_secret=secret, profile=args.profile
    )


def _read_token(value: str) -> str:
    if value != "-":
        return value.strip()
    try:
        return sys.stdin.read().strip()
    except UnicodeDecodeError:
        raise MalformedTokenError("token: stdin is not text; expected a JWT") from None


def _read_secret() -> str:
    try:
        return sys.stdin.readline().strip()
    except UnicodeDecodeError:
        raise ConfigError("api_secret: stdin is not text; expected the API secret") from None


def _cmd_token_create(args: argparse.Namespace) -> int:
    creds = _credentials(args)
    attributes: dict[str, str] = {}
    for item in args.attribute or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise TokenInputError(f"attribute: {item!r} is not KEY=VALUE")
        attributes[key] = value
    grants = tokens.Grants().with_changes(args.grant or [])
    print(
        tokens.mint(
            creds,
            identity=args.identity,
            room=args.room,
            name=args.name or "",
            grants=grants,
            ttl=args.ttl,
            metadata=args.metadata or "",
            attributes=attributes,
        )
    )
    return EXIT_OK


def _cmd_token_inspect(args: argparse.Namespace) -> int:
    info = tokens.inspect(_read_token(args.jwt))
    if args.json:
        print(json.dumps(info.to_dict(), indent=2, sort_keys=True))
    else:
        print(info.summary())
    return EXIT_OK


def _cmd_token_verify(args: argparse.Namespace) -> int:
    creds = _credentials(args)
    info = tokens.verify(_read_token(args.jwt), creds.api_key, creds.api_secret)
    print(f"valid: {info.identity} in room {info.room or '-'}, expires {info.expires_at}")
    return EXIT_OK


# --- profile ----------------------------------------------------------------------------


def _cmd_profile_add(args: argparse.Namespace) -> int:
    if args.api_secret_stdin:
        secret = _read_secret()
    elif os.environ.get("LIVEKIT_API_SECRET"):
        secret = os.environ["LIVEKIT_API_SECRET"]
    elif sys.stdin.isatty():
        secret = getpass.getpass("API secret (not echoed): ").strip()
    else:
        raise ConfigError(
            "api_secret: not given; pipe it with --api-secret-stdin or set LIVEKIT_API_SECRET"
        )
    tokens.check_profile_name(args.name)
    creds = tokens.Credentials(
        url=args.url, api_key=args.api_key, api_secret=secret, dev_tokens=args.dev_tokens
    )
    path = tokens.save_profile(args.name, creds)
    marked = ", signs dev tokens" if creds.dev_tokens else ""
    _info(f"saved profile {args.name!r} ({creds.url}, key {creds.api_key}{marked}) in {path}")
    _warn_profiles()
    return EXIT_OK


def _cmd_profile_list(args: argparse.Namespace) -> int:
    _warn_profiles()
    profiles = tokens.load_profiles()
    if not profiles:
        _info(f"no profiles in {tokens.config_path()}")
    for name, creds in sorted(profiles.items()):
        marked = "\tdev-tokens" if creds.dev_tokens else ""
        print(f"{name}\t{creds.url}\t{creds.api_key}{marked}")
    return EXIT_OK


def _cmd_profile_remove(args: argparse.Namespace) -> int:
    _warn_profiles()
    if not tokens.remove_profile(args.name):
        raise ConfigError(f"profile: {args.name!r} does not exist")
    _info(f"removed profile {args.name!r}")
    return EXIT_OK


# --- server and dev ---------------------------------------------------------------------


def _server_config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        port=args.port,
        rtc_tcp_port=args.rtc_tcp_port,
        rtc_udp_port=args.rtc_udp_port,
        log_level=args.log_level,
    )


def _run_until_interrupted(server: DevServer, banner: Callable[[], None]) -> int:
    """Start `server`, print the banner, and stop cleanly on Ctrl-C or SIGTERM."""

    def _terminate(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        server.start()
        banner()
        code = server.wait()
        _err(f"livekit-server exited on its own with code {code}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _info("stopping livekit-server ...")
        return EXIT_OK
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)


def _cmd_server(args: argparse.Namespace) -> int:
    binary = ensure_server_binary(args.server_bin, log=_info)
    if args.build_only:
        print(binary)
        return EXIT_OK
    server = DevServer(_server_config(args), binary=binary, inherit_output=args.verbose)

    def banner() -> None:
        cfg = server.config
        print(f"LiveKit server {SERVER_VERSION} running (dev mode, loopback only)", flush=True)
        print(f"  url:        {cfg.url}")
        print(f"  api key:    {cfg.api_key}")
        print(f"  api secret: {cfg.api_secret}   (development pair, accepted on 127.0.0.1 only)")
        if server.log_path:
            print(f"  server log: {server.log_path}")
        print("Press Ctrl-C to stop.", flush=True)

    return _run_until_interrupted(server, banner)


def _cmd_dev(args: argparse.Namespace) -> int:
    binary = ensure_server_binary(args.server_bin, log=_info)
    room = tokens.check_name("room", args.room)
    server = DevServer(_server_config(args), binary=binary, inherit_output=args.verbose)
    try:
        server.start()
        cfg = server.config
        creds = tokens.Credentials(url=cfg.url, api_key=cfg.api_key, api_secret=cfg.api_secret)
        return asyncio.run(_dev_loop(server, creds, room, args.bots))
    except KeyboardInterrupt:  # Ctrl-C before the loop took the signals over
        _info("stopping livekit-server ...")
        return EXIT_OK
    finally:
        server.stop()


def _dev_banner(creds: tokens.Credentials, room: str, bots: int) -> None:
    print(f"LiveKit development room {room!r} is ready.", flush=True)
    print(f"  LIVEKIT_URL={creds.url}")
    print(f"  LIVEKIT_API_KEY={creds.api_key}")
    print(f"  LIVEKIT_API_SECRET={creds.api_secret}   (development pair, loopback only)")
    print("Tokens (valid 24 h), one per player; paste into connect_to_room(url, token):")
    for identity in ("player-1", "player-2"):
        token = tokens.mint(creds, identity=identity, room=room, name=identity, ttl="24h")
        print(f"  {identity}: {token}")
    print(
        "In Godot: a LiveKitClient with server_url set to the URL above and room_name "
        f"{room!r} connects by itself in a debug run."
    )
    if bots:
        print(f"{bots} demo bot(s) are joining and will talk and walk around you.")
    print("Press Ctrl-C to stop.", flush=True)


async def _dev_loop(server: DevServer, creds: tokens.Credentials, room: str, bots: int) -> int:
    """Run the demo bots until Ctrl-C / SIGTERM or until the server exits.

    The banner (which says "Press Ctrl-C") is printed only once Ctrl-C is handled here.
    """
    from .runtime import run_bots

    stop = asyncio.Event()
    restore = install_stop_handlers(asyncio.get_running_loop(), lambda _reason: stop.set())
    _dev_banner(creds, room, bots)
    tasks = [asyncio.create_task(_watch_server(server, stop), name="server-watch")]
    if bots:
        tasks.append(asyncio.create_task(run_bots(creds, room, bots, stop=stop, log=_info)))
    try:
        await stop.wait()
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        restore()
    for result in results:
        if isinstance(result, LiveKitGodotError):
            _err(tokens.redact_tokens(result.message))
            return EXIT_FAILED
    if server.poll() is not None:
        _err("livekit-server exited on its own")
        return EXIT_FAILED
    _info("stopping livekit-server ...")
    return EXIT_OK


async def _watch_server(server: DevServer, stop: asyncio.Event) -> None:
    """Set `stop` when the server process exits."""
    while server.poll() is None:
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
            return
        except TimeoutError:
            continue
    stop.set()


def _cmd_bots(args: argparse.Namespace) -> int:
    from .runtime import run_bots

    creds = _credentials(args)
    if not creds.url:
        raise ConfigError("url: not given; pass --url, set LIVEKIT_URL or use a profile")

    async def main() -> None:
        stop = asyncio.Event()
        restore = install_stop_handlers(asyncio.get_running_loop(), lambda _reason: stop.set())
        try:
            await run_bots(
                creds,
                args.room,
                args.count,
                stop=stop,
                radius=args.radius,
                seed=args.seed,
                log=_info,
            )
        finally:
            restore()

    asyncio.run(main())
    return EXIT_OK


def _cmd_runtime(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .runtime import (
        BridgeConfig,
        EditorFactory,
        PlayoutConfig,
        configure_logging,
        read_session_key,
        serve,
    )

    configure_logging(args.log_level)
    config = BridgeConfig(
        key=read_session_key(Path(args.key_file).expanduser() if args.key_file else None),
        allowed_origins=tuple(args.allow_origin or ()),
        port=args.port,
        idle_exit=args.idle_exit,
        parent_pid=args.parent_pid,
        dev_tokens=args.dev_tokens,
        auto_gain=args.auto_gain,
        playout=PlayoutConfig(frame_ms=args.frame_ms).with_target(args.target_ms),
    )
    editor: EditorFactory | None = None
    if args.editor:  # a game's runtime never loads the editor services
        from .editor import EditorService

        editor = EditorService
    reason = asyncio.run(serve(config, editor=editor, exit_with_stdin=args.exit_with_stdin))
    _info(f"runtime stopped: {reason}")
    return EXIT_OK


def _cmd_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ._init_project import InitOptions, init_project

    options = InitOptions(
        project=Path(args.project_dir),
        link=args.link,
        force=args.force,
        runtime=Path(args.runtime) if args.runtime else None,
        python=args.python,
    )
    init_project(
        options,
        say=lambda line: print(line, flush=True),
        warn=lambda line: print(f"livekit-godot: warning: {line}", file=sys.stderr, flush=True),
    )
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------


def _add_credential_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "credentials",
        "Taken from these options, else the profile, else LIVEKIT_URL / LIVEKIT_API_KEY / "
        "LIVEKIT_API_SECRET. The secret is never accepted on the command line.",
    )
    group.add_argument("--profile", help="named profile (see `livekit-godot profile`)")
    group.add_argument("--url", help="server URL (ws://, wss://, http://, https://)")
    group.add_argument("--api-key", help="API key")
    group.add_argument(
        "--api-secret-stdin", action="store_true", help="read the API secret from stdin"
    )


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=7880, help="signalling port (7880)")
    parser.add_argument("--rtc-tcp-port", type=int, default=7881, help="ICE/TCP port (7881)")
    parser.add_argument("--rtc-udp-port", type=int, default=7882, help="media UDP port (7882)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    parser.add_argument(
        "--server-bin",
        help=f"use this livekit-server binary instead of building one (or set {ENV_BINARY})",
    )
    parser.add_argument("--verbose", action="store_true", help="show the server's own log")


def build_parser() -> argparse.ArgumentParser:
    """The full `livekit-godot` argument parser."""
    parser = _Parser(prog="livekit-godot", description="LiveKit spatial voice for Godot 4.")
    parser.add_argument("--version", action="version", version=f"livekit-godot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    dev = sub.add_parser("dev", help="start a local server and print ready-to-use dev tokens")
    dev.add_argument("--room", default="dev-room", help="room name (dev-room)")
    dev.add_argument("--bots", type=int, default=3, help="demo bots to start (3; 0 for none)")
    _add_server_options(dev)
    dev.set_defaults(func=_cmd_dev)

    server = sub.add_parser("server", help="run a local LiveKit server (built on first use)")
    _add_server_options(server)
    server.add_argument(
        "--build-only", action="store_true", help="build or find the binary, print its path"
    )
    server.set_defaults(func=_cmd_server)

    bots = sub.add_parser("bots", help="demo participants that talk and walk around")
    bots.add_argument("--room", required=True, help="room to join")
    bots.add_argument("--count", type=int, default=3, help="how many bots (3)")
    bots.add_argument("--radius", type=float, default=3.0, help="circle radius in metres (3)")
    bots.add_argument("--seed", type=int, default=0, help="varies rhythms and paths (0)")
    _add_credential_options(bots)
    bots.set_defaults(func=_cmd_bots)

    runtime = sub.add_parser(
        "runtime",
        help="the companion runtime Godot talks to (session key from "
        "LIVEKIT_GODOT_SESSION_KEY, --key-file or stdin)",
    )
    runtime.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: free)")
    runtime.add_argument(
        "--key-file",
        metavar="PATH",
        help="read the session key from this owner-only file (created with a new random key "
        "when missing); give Godot the same path with --livekit-key-file=PATH",
    )
    runtime.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="let web pages from this origin on this machine attach, e.g. "
        "http://127.0.0.1:8060 (repeatable; desktop Godot sends no origin and needs none)",
    )
    runtime.add_argument(
        "--idle-exit", type=float, default=30.0, help="exit after N s without Godot (30; 0 never)"
    )
    runtime.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    runtime.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="leave the room and exit when stdin closes (how the addon asks a runtime it "
        "started to quit)",
    )
    runtime.add_argument(
        "--dev-tokens", action="store_true", help="mint dev tokens for connects without one"
    )
    runtime.add_argument(
        "--editor", action="store_true", help="serve the editor services (tokens, dashboard)"
    )
    runtime.add_argument(
        "--auto-gain",
        action="store_true",
        help="automatic gain control on the microphone (off: its first seconds are ~12 dB loud)",
    )
    runtime.add_argument("--target-ms", type=float, default=60.0, help="playout target (60)")
    runtime.add_argument(
        "--frame-ms",
        type=int,
        default=10,
        choices=[10, 20],
        help="audio per frame from LiveKit: 10 (lowest latency) or 20 (less CPU, +10 ms)",
    )
    runtime.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    runtime.set_defaults(func=_cmd_runtime)

    init = sub.add_parser(
        "init",
        help="add voice to a Godot 4 project: install the addon, enable it, turn input on",
    )
    init.add_argument("project_dir", metavar="PROJECT_DIR", help="folder holding project.godot")
    init.add_argument(
        "--link", action="store_true", help="link addons/livekit to the addon source (no copy)"
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="replace a foreign addons/livekit (moved to addons/livekit.backup-<time>/)",
    )
    init.add_argument(
        "--runtime", metavar="DIR", help="self-contained runtime folder to bundle into the addon"
    )
    init.add_argument(
        "--python", metavar="PATH", help="interpreter for spawn mode (default: this one)"
    )
    init.set_defaults(func=_cmd_init)

    token = sub.add_parser("token", help="mint, inspect or verify access tokens")
    tsub = token.add_subparsers(dest="token_command", required=True, parser_class=_Parser)
    create = tsub.add_parser("create", help="mint a token; prints only the JWT")
    create.add_argument("--room", required=True, help="room the token may join")
    create.add_argument("--identity", required=True, help="participant identity")
    create.add_argument("--name", help="display name")
    create.add_argument("--ttl", default="6h", help="lifetime: 90s, 15m, 2h, 1d (6h)")
    create.add_argument(
        "--grant",
        action="append",
        metavar="NAME[,NAME]",
        help="turn a grant on (NAME) or off (no-NAME); names: " + ", ".join(tokens.GRANT_NAMES),
    )
    create.add_argument("--metadata", help="participant metadata")
    create.add_argument("--attribute", action="append", metavar="KEY=VALUE")
    _add_credential_options(create)
    create.set_defaults(func=_cmd_token_create)

    inspect = tsub.add_parser("inspect", help="decode a token without a key")
    inspect.add_argument("jwt", help="the token, or - to read it from stdin")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    inspect.set_defaults(func=_cmd_token_inspect)

    verify = tsub.add_parser("verify", help="check a token's signature and validity")
    verify.add_argument("jwt", help="the token, or - to read it from stdin")
    _add_credential_options(verify)
    verify.set_defaults(func=_cmd_token_verify)

    profile = sub.add_parser("profile", help="manage server profiles (outside any project)")
    psub = profile.add_subparsers(dest="profile_command", required=True, parser_class=_Parser)
    add = psub.add_parser("add", help="add or replace a profile; the secret comes from stdin")
    add.add_argument("name")
    add.add_argument("--url", required=True)
    add.add_argument("--api-key", required=True)
    add.add_argument("--api-secret-stdin", action="store_true")
    add.add_argument(
        "--dev-tokens",
        action="store_true",
        help="let `runtime --dev-tokens` sign development tokens with this profile (a server "
        "on this machine only; otherwise only the dev pair devkey/secret is used)",
    )
    add.set_defaults(func=_cmd_profile_add)
    psub.add_parser("list", help="list profiles (never their secrets)").set_defaults(
        func=_cmd_profile_list
    )
    remove = psub.add_parser("remove", help="remove a profile")
    remove.add_argument("name")
    remove.set_defaults(func=_cmd_profile_remove)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `livekit-godot` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except _INPUT_ERRORS as exc:
        _err(tokens.redact_tokens(exc.message))
        return EXIT_USAGE
    except (TokenError, LiveKitGodotError) as exc:
        _err(tokens.redact_tokens(exc.message))
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C where a command does not handle it: no traceback
        _err("interrupted")
        return EXIT_INTERRUPTED


def run() -> NoReturn:
    """Console-script entry point: `main`, then exit (see `_exit.exit_process`)."""
    exit_process(main())


if __name__ == "__main__":
    run()
