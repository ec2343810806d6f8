"""The channel layer itself across a Redis restart (collab/live/layer.py):
a channel that stayed subscribed through the outage hears its group again,
and so does one subscribed while pages were retrying as Redis came back,
without restarting the process."""

import asyncio
import contextlib
import time

from collab.live.layer import ReconnectingPubSubChannelLayer
from tests.test_redis_outage import own_redis  # noqa: F401 - the fixture: a redis-server of this test's own


async def heard(listener, channel: str, sender, group: str, timeout: float = 15) -> bool:
    """Send to the group until the channel hears it (pub/sub drops what is sent before it resubscribes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            await sender.group_send(group, {"type": "ping"})
        with contextlib.suppress(TimeoutError):
            if (await asyncio.wait_for(listener.receive(channel), 0.5))["type"] == "ping":
                return True
    return False


def test_a_group_is_heard_again_after_redis_restarts(own_redis):  # noqa: F811
    async def scenario():
        listener = ReconnectingPubSubChannelLayer(hosts=[own_redis.url], prefix="relive")
        sender = ReconnectingPubSubChannelLayer(hosts=[own_redis.url], prefix="relive")
        kept = await listener.new_channel()
        await listener.group_add("g", kept)
        assert await heard(listener, kept, sender, "g")

        own_redis.kill()
        stop = asyncio.Event()
        joined: list[str] = []

        async def page_retrying():  # what sockets connecting around the restart do to the layer
            while not stop.is_set():
                with contextlib.suppress(Exception):
                    channel = await listener.new_channel()
                    await listener.group_add("g", channel)
                    joined.append(channel)
                    return
                await asyncio.sleep(0.05)

        pages = [asyncio.create_task(page_retrying()) for _ in range(10)]
        await asyncio.sleep(2)
        own_redis.start()
        await asyncio.wait_for(asyncio.gather(*pages), 20)
        stop.set()

        # A sender of its own after the restart: this test is about the listening side (a publisher's
        # stale pooled connection can take its socket timeout to notice the restart).
        await sender.flush()
        sender = ReconnectingPubSubChannelLayer(hosts=[own_redis.url], prefix="relive")
        assert await heard(listener, kept, sender, "g"), "the channel kept through the outage hears its group"
        assert joined and await heard(listener, joined[0], sender, "g"), "a channel that joined as Redis came back"
        await listener.flush()
        await sender.flush()

    asyncio.run(scenario())


def test_a_storm_of_sockets_joining_does_not_queue_behind_the_receivers_reads(own_redis):  # noqa: F811
    """Each (un)subscribe needs the pub/sub connection, which the receiver reads with a 0.1 s
    timeout; were they served one per read, 100 observers opening a page at once (a class) would
    wait ~20 s (a socket joins its own channel and the session's group). The receiver stands aside
    while any are waiting."""
    async def scenario():
        layer = ReconnectingPubSubChannelLayer(hosts=[own_redis.url], prefix="storm")
        sender = ReconnectingPubSubChannelLayer(hosts=[own_redis.url], prefix="storm")
        first = await layer.new_channel()
        await layer.group_add("g", first)
        assert await heard(layer, first, sender, "g")  # the receiver is up and reading

        async def page_joins():
            channel = await layer.new_channel()
            await layer.group_add("g", channel)
            return channel

        started = time.monotonic()
        channels = await asyncio.wait_for(asyncio.gather(*(page_joins() for _ in range(100))), 30)
        took = time.monotonic() - started
        assert took < 3, f"100 sockets took {took:.1f} s to join"
        assert await heard(layer, channels[-1], sender, "g")
        for channel in channels:  # and leaving goes the same way, in the background
            await layer.group_discard("g", channel)
        await layer.flush()
        await sender.flush()

    asyncio.run(scenario())
