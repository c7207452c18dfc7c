"""Test doubles that speak real protocols over real sockets (see upstream.py)."""

from tests.fakes.replies import RecordedRequest, Reply
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wire import FakeUsage, ToolCallSpec

__all__ = ["FakeUpstream", "FakeUsage", "RecordedRequest", "Reply", "ToolCallSpec"]
