"""channels-redis's pub/sub layer, made to come back by itself after a Redis restart.

In channels_redis 4.3 one shard connection holds one redis-py PubSub, read
by a receiver task while group_add/group_discard send SUBSCRIBE/UNSUBSCRIBE
on it. When Redis goes away, both sides reconnect that same connection on
their own (PubSub.parse_response and PubSub._execute each call
connect(), whose handshake reads a reply): two coroutines then read one
socket ("RuntimeError: readuntil() called while another coroutine is already
waiting"), replies pair with the wrong requests, and the receiver keeps
failing until daphne restarts: group broadcasts no longer reach its sockets.

Here the PubSub connection is used by one coroutine at a time (the
receiver reads under the same lock that (un)subscribing takes; while any
(un)subscribe is waiting the receiver stands aside, so a storm of sockets
joining waits for at most one 0.1 s read in all, not one each; publishing
is not held up), and a failure on
either side throws the whole client away: the receiver builds a new one and
subscribes again to everything this process listens to. Until that is done,
subscribing raises ConnectionError (the socket is told "live updates paused"
and retries) instead of touching the broken connection.
"""

import asyncio
import contextlib
import logging

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _close_redis, _wrap_close
from redis.exceptions import ConnectionError as RedisConnectionError

logger = logging.getLogger(__name__)
RETRY_SECONDS = 0.5  # between attempts to reach Redis again
CLOSE_TIMEOUT = 2.0  # closing a dead client must not hold the shard up


class ReconnectingShardConnection(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._broken = False  # the client failed; the receiver replaces it
        self._pubsub_lock = asyncio.Lock()  # one reader or writer of the PubSub connection at a time
        self._unsubscribing: set[asyncio.Task] = set()
        self._wanting = 0  # (un)subscribes waiting for the connection: the receiver lets them go first

    @contextlib.asynccontextmanager
    async def _connection_for_change(self):
        self._wanting += 1
        try:
            async with self._lock, self._pubsub_lock:
                yield
        finally:
            self._wanting -= 1

    async def subscribe(self, channel):
        async with self._connection_for_change():
            if channel in self._subscribed_to:
                return
            self._ensure_receiver()
            self._refuse_if_broken()
            self._ensure_redis()
            try:
                await self._pubsub.subscribe(channel)
            except Exception as exc:
                self._broken = True
                raise RedisConnectionError(f"pub/sub subscribe failed: {exc}") from exc
            self._subscribed_to.add(channel)

    async def unsubscribe(self, channel):
        # Called from a consumer that channels is cancelling (more than once):
        # done in a task of its own, so waiting for the lock neither leaves the
        # channel subscribed nor fails the consumer's cleanup.
        task = asyncio.ensure_future(self._unsubscribe(channel))
        self._unsubscribing.add(task)
        task.add_done_callback(self._unsubscribing.discard)

    async def _unsubscribe(self, channel):
        async with self._connection_for_change():
            layer = self.channel_layer
            if channel not in self._subscribed_to or channel in layer.channels or channel in layer.groups:
                return  # not subscribed, or taken again while this waited
            self._subscribed_to.discard(channel)  # a new client will not subscribe it again either way
            if self._broken or self._pubsub is None:
                return
            try:
                await self._pubsub.unsubscribe(channel)
            except Exception:
                self._broken = True  # the receiver says so, and replaces the client

    def _refuse_if_broken(self) -> None:
        if self._broken:
            raise RedisConnectionError("pub/sub connection to Redis is being re-established")

    async def _do_receiving(self):
        while True:
            try:
                if self._broken:
                    await self._reconnect()
                elif self._wanting:
                    async with self._pubsub_lock:
                        pass  # behind the (un)subscribes already waiting
                    await asyncio.sleep(0)  # and let the next one in (a free lock does not yield)
                elif self._pubsub is not None and self._pubsub.subscribed:
                    async with self._pubsub_lock:
                        message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception as exc:
                if not self._broken:
                    logger.warning("pub/sub connection to Redis lost (%s: %s); reconnecting", type(exc).__name__, exc)
                self._broken = True
                await asyncio.sleep(RETRY_SECONDS)

    async def _reconnect(self) -> None:
        """A fresh client that listens to all this process's channels again;
        raises (and is retried) while Redis does not answer."""
        async with self._lock, self._pubsub_lock:
            await self._drop_client()
            self._ensure_redis()
            try:
                if self._subscribed_to:
                    await self._pubsub.subscribe(*self._subscribed_to)
                else:
                    await self._redis.ping()
            except Exception:
                await self._drop_client()
                raise
            self._broken = False
        logger.warning("pub/sub connection to Redis re-established (%d channels)", len(self._subscribed_to))

    async def _drop_client(self) -> None:
        redis, self._redis, self._pubsub = self._redis, None, None
        if redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(_close_redis(redis), CLOSE_TIMEOUT)


class ReconnectingLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shards = [ReconnectingShardConnection(shard.host, self) for shard in self._shards]


class ReconnectingPubSubChannelLayer(RedisPubSubChannelLayer):
    """The CHANNEL_LAYERS backend: channels-redis's pub/sub layer with shards that reconnect."""

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        if loop not in self._layers:
            self._layers[loop] = ReconnectingLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return self._layers[loop]
