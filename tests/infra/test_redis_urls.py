"""``AIHUB_REDIS_URL``'s three forms, read without a server."""

from __future__ import annotations

import pytest

from aihub.infra.redis_client import (
    RedisUrlError,
    build_redis_client,
    parse_redis_url,
    sharded_pubsub,
)
from aihub.media.redis_broker import RedisPriorityBroker


class TestUrls:
    def test_cluster_url_lists_every_seed_and_the_credentials(self) -> None:
        parsed = parse_redis_url("redis+cluster://u:p%40ss@10.0.0.1:7000,h2:7001")
        assert parsed is not None
        assert parsed.mode == "cluster"
        assert parsed.nodes == (("10.0.0.1", 7000), ("h2", 7001))
        assert (parsed.username, parsed.password, parsed.tls) == ("u", "p@ss", False)

    def test_sentinel_url_has_service_and_database(self) -> None:
        parsed = parse_redis_url(
            "rediss+sentinel://:secret@s1:26379,s2:26380/mymaster/3?sentinel_password=x"
        )
        assert parsed is not None
        assert parsed.mode == "sentinel"
        assert parsed.nodes == (("s1", 26379), ("s2", 26380))
        assert (parsed.service, parsed.db, parsed.tls) == ("mymaster", 3, True)
        assert parsed.password == "secret"
        assert parsed.query == {"sentinel_password": "x"}

    def test_single_redis_urls_are_left_to_redis_py(self) -> None:
        assert parse_redis_url("redis://localhost:6379/2") is None
        assert parse_redis_url("unix:///run/redis.sock") is None

    @pytest.mark.parametrize(
        ("url", "says"),
        [
            ("redis+cluster://", "at least one host:port"),
            ("redis+cluster://h:7000/2", "only database 0"),
            ("redis+cluster://h", "expected host:port"),
            ("redis+sentinel://h:26379", "service_name"),
            ("redis+sentinel://h:26379/svc/x", "must be a number"),
        ],
    )
    def test_bad_urls_say_what_is_wrong(self, url: str, says: str) -> None:
        with pytest.raises(RedisUrlError, match=says):
            build_redis_client(url)

    def test_media_queue_keeps_its_list_names_on_a_single_redis(self) -> None:
        """Jobs queued by an older hub on one Redis are found after an upgrade;
        only a cluster gets the hash-tagged names."""
        single = RedisPriorityBroker("redis://127.0.0.1:6379/0")
        sentinel = RedisPriorityBroker("redis+sentinel://127.0.0.1:26379/aihub")
        cluster = RedisPriorityBroker("redis+cluster://127.0.0.1:7000")
        assert single.list_key(1) == "aihub:media:1"
        assert sentinel.list_key(9) == "aihub:media:9"
        assert cluster.list_key(5) == "{aihub:media}:5"

    def test_pubsub_option_is_ours_and_checked(self) -> None:
        assert sharded_pubsub("redis+cluster://h:7000?pubsub=sharded")
        assert not sharded_pubsub("redis+cluster://h:7000")
        assert not sharded_pubsub("redis://h:6379/0?pubsub=sharded")
        with pytest.raises(RedisUrlError, match="classic or sharded"):
            build_redis_client("redis+cluster://h:7000?pubsub=fast")

    def test_unknown_sentinel_option_is_refused(self) -> None:
        with pytest.raises(RedisUrlError, match="unknown"):
            build_redis_client("redis+sentinel://h:26379/svc?colour=blue")
