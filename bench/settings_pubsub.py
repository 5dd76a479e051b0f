"""config.settings with channels-redis's pub/sub layer (one PUBLISH per group_send, fanned out
in-process), for comparing against the list-based RedisChannelLayer in ws_bench.py."""

from config.settings import *  # noqa: F403

if REDIS_URL:  # noqa: F405
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}  # noqa: F405
    }
