"""Load bench: the real Telegram bot against the fake Bot API, many chats sending photos at once.

Each chat sends its next photo as soon as the previous one is answered (as an eager person
would), all through real long polling, the real engine and models, and real face photos
(MEBeauty when the shared data folder exists, else the astronaut). Prints photos/s, p50/p99
seconds from update to reply, peak memory and replies lost (must be 0).

    .venv/bin/python -m bench.telegram_load [--chats 20] [--photos 400] [--flood-limits]

By default Telegram's outgoing flood limits (30 messages/s for the whole bot) are lifted, so
the figure is the bot's own capacity; --flood-limits keeps python-telegram-bot's defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from telegram.ext import AIORateLimiter

from tests.fakes.telegram_api import TOKEN, FakeTelegram, running
from xinh.bots.chat_settings import open_store
from xinh.bots.observability import Metrics
from xinh.bots.telegram_bot import SEND_RETRIES, build_application
from xinh.inference.engine import Engine
from xinh.locales import Catalog
from xinh.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("XINH_SHARED_DATA", ROOT.parent / "shared" / "data"))
REPLY_TIMEOUT_S = 60.0


def load_photos(count: int = 40) -> tuple[str, list[bytes]]:
    """Real face photos: MEBeauty's validation rows when present, else the astronaut."""
    scores = SHARED_DATA / "mebeauty" / "scores.csv"
    if scores.exists():
        with open(scores) as rows:
            names = [row["image"] for row in csv.DictReader(rows) if row["split"] == "val"]
        photos = [(SHARED_DATA / "mebeauty" / name).read_bytes() for name in names[:count]]
        return f"{len(photos)} MEBeauty photos", photos
    return "the astronaut", [(ROOT / "tests" / "data" / "astronaut.jpg").read_bytes()]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def chat(fake: FakeTelegram, chat_id: int, photos: list[bytes], count: int) -> list:
    """One chat: send `count` photos one after the other; seconds to each reply (None: lost)."""
    latencies: list[float | None] = []
    for n in range(count):
        update = fake.update(
            message=fake.photo_message(chat_id, photos[(chat_id + n) % len(photos)])
        )
        started = time.perf_counter()
        fake.push(update)
        try:
            await fake.reply_to(update, timeout=REPLY_TIMEOUT_S)
            latencies.append(time.perf_counter() - started)
        except TimeoutError:
            latencies.append(None)
    return latencies


async def bench(chats: int, photos_total: int, flood_limits: bool) -> None:
    source, photos = load_photos()
    load_before = os.getloadavg()
    defaults = Settings()
    engine = Engine.create(defaults.models_path(), defaults.engine_options())
    with tempfile.TemporaryDirectory(prefix="xinh-bench-") as data_dir:
        async with FakeTelegram() as fake:
            settings = Settings(
                telegram_token=TOKEN,
                data_dir=data_dir,
                health_port=0,
                rate_limit_per_minute=photos_total,
                **fake.urls(),
            )
            metrics = Metrics(queue_depth=lambda: engine.queue_depth)
            limiter = (
                None
                if flood_limits
                else AIORateLimiter(overall_max_rate=0, max_retries=SEND_RETRIES)
            )
            application = build_application(
                settings,
                engine,
                Catalog.load(),
                open_store("", settings.data_dir),
                metrics,
                limiter,
            )
            async with running(application):
                rss_ready = peak_rss_mb()
                per_chat = [
                    photos_total // chats + (i < photos_total % chats) for i in range(chats)
                ]
                started = time.perf_counter()
                results = await asyncio.gather(
                    *(chat(fake, 1000 + i, photos, n) for i, n in enumerate(per_chat))
                )
                elapsed = time.perf_counter() - started
    engine.close()
    latencies = sorted(s for chat_results in results for s in chat_results if s is not None)
    lost = sum(s is None for chat_results in results for s in chat_results)
    outcomes = {
        sample.labels["outcome"]: int(sample.value)
        for family in metrics.registry.collect()
        if family.name == "xinh_photos"
        for sample in family.samples
        if sample.name == "xinh_photos_total"
    }
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(f"photos: {photos_total} from {chats} chats ({source}); cores: {os.cpu_count()}")
    print(f"load average before the run: {' '.join(f'{x:.2f}' for x in load_before)}")
    print(f"outgoing flood limits: {'python-telegram-bot defaults' if flood_limits else 'lifted'}")
    print(f"throughput: {len(latencies) / elapsed:.1f} photos/s ({elapsed:.1f} s)")
    print(f"update to reply: p50 {quantiles[49] * 1000:.0f} ms, p99 {quantiles[98] * 1000:.0f} ms")
    print(f"peak memory (whole process, RSS): {peak_rss_mb():.0f} MB ({rss_ready:.0f} MB ready)")
    print(f"outcomes: {outcomes}")
    print(f"replies lost: {lost}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--flood-limits", action="store_true", help="keep Telegram's limits")
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    asyncio.run(bench(args.chats, args.photos, args.flood_limits))


if __name__ == "__main__":
    main()
