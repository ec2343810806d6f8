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
