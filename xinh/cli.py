"""The `xinh` command: run a bot or the demo page, or look at photos from the terminal.

xinh demo                    the original web page, locally (no token needed)
xinh faces PHOTO...          faces found in photos
xinh analyze PHOTO...        the full verdict, and the reply the bots would send
xinh telegram | discord      run a bot (tokens from XINH_TELEGRAM_TOKEN / XINH_DISCORD_TOKEN)
xinh config                  the effective settings, secrets masked
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xinh.inference.model_files import ModelFilesMissing
from xinh.locales import DEFAULT_LANGUAGE, Catalog
from xinh.settings import ConfigError

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xinh",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.split("\n")[2:]),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    faces = commands.add_parser("faces", help="find faces in photos")
    faces.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    faces.add_argument("--json", action="store_true", help="one JSON object per photo")
    faces.add_argument("--annotate", type=Path, metavar="DIR", help="write annotated copies here")

    analyze = commands.add_parser("analyze", help="rate the faces in photos")
    analyze.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    analyze.add_argument("--json", action="store_true", help="one JSON object per photo")
    analyze.add_argument("--annotate", type=Path, metavar="DIR", help="write annotated copies here")
    analyze.add_argument(
        "--lang", choices=Catalog.load().languages, default=DEFAULT_LANGUAGE, help="reply language"
    )

    telegram = commands.add_parser("telegram", help="run the Telegram bot")
    telegram.add_argument("--webhook-url", help="serve a webhook at this public HTTPS URL")
    telegram.add_argument("--listen", help="webhook bind address (default 0.0.0.0)")
    telegram.add_argument("--port", type=int, help="webhook bind port (default 8443)")

    discord = commands.add_parser("discord", help="run the Discord bot")
    discord.add_argument("--shard-count", type=int, help="shards in total")
    discord.add_argument("--shard-ids", help="comma-separated shard ids this process runs")

    demo = commands.add_parser("demo", help="serve the demo page")
    demo.add_argument("--host", help="bind address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, help="bind port (default 8080)")

    commands.add_parser("config", help="print the effective settings")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `xinh` console command."""
    args = _parser().parse_args(argv)
    try:
        if args.command != "config":
            from xinh.quiet import litert_banner_spent

            litert_banner_spent()
        if args.command == "faces":
            from xinh.inspect import faces_command

            return faces_command(args.paths, args.json, args.annotate)
        if args.command == "analyze":
            from xinh.inspect import analyze_command

            return analyze_command(args.paths, args.json, args.annotate, args.lang)
        if args.command == "config":
            from xinh.config_command import config_command

            return config_command()
        if args.command == "telegram":
            from xinh.bots.telegram_bot import run

            return run(args)
        if args.command == "discord":
            from xinh.bots.discord_bot import run

            return run(args)
        from xinh.bots.demo import run

        return run(args)
    except (ConfigError, ModelFilesMissing) as exc:
        print(f"xinh: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
