"""The call layer: how every front door calls a provider.

Below the doors (hub chat, ask, seed 004, /v1 gateway, media, voice, speech)
and above the provider adapters and the key pool:

- ``retry``: the retry policy as data (how many times, how long to wait);
- ``keyloop``: the one key loop (a key from the pool, the next key after
  429/401/403/402, retries with backoff on 5xx, timeouts and connection errors
  before the first byte, the key's health reported every time);
- ``stream_errors``: one rendering of a mid-stream error per wire format.

See docs/architecture.md for the layers and where a change goes.
"""
