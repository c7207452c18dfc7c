"""Seed 004's proxy API under /api: chat, OpenAI-compatible completions, models,
key status and chat management, over aihub threads (source ``chat``)."""
