"""Seed 004's chat API (its "Qwen API proxy") under /api: chat, OpenAI-compatible
completions, models, key status and chat management, over aihub threads (source
``chat``)."""
