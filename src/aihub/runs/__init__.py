"""Generations that outlive their HTTP request, below every door that stores
answers in threads (the hub's chat, seed 004's chat API, the gateway's stored
calls and responses): ``GenerationRun`` streams one answer and stores it as it
grows, ``AnswerKeeper`` keeps a growing answer written and alive, ``RunHub``
holds this process's runs and makes stop work from any process, and the
orphan sweep (``orphans``) ends the answers of processes that died. Answers
are written through the threads domain's service."""
