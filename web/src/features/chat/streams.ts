/**
 * Live generations, kept outside the React tree so they survive navigation
 * (a new chat becomes /c/:id mid-stream) and switching threads. Each stream
 * reads SSE frames, batches deltas per animation frame into this store, and
 * writes what it learns (thread created, message ids, the final text and its
 * cost) straight into the TanStack Query caches: no refetch per message.
 */
import type { QueryClient } from "@tanstack/react-query";
import { create } from "zustand";
import type { Schemas } from "../../api/client";
import { apiFetch } from "../../api/fetch";
import { FrameBatcher } from "./lib/frameBatcher";
import { resumableSse, type SseFrame, StreamHttpError } from "./lib/sse";

export type Message = Schemas["MessageRead"];
export type Tree = Schemas["ThreadTreeRead"];
export type Thread = Schemas["ThreadRead"];

export type StreamStatus =
  | "connecting"
  | "streaming"
  | "complete"
  | "stopped"
  | "interrupted"
  | "error";

export interface LiveStream {
  /** "new" until the server names the thread, then the thread id. */
  key: string;
  threadId: number | null;
  userMessageId: number | null;
  assistantId: number | null;
  /** The question as sent (shown before the server has stored it). */
  question: { content: string; images: string[] } | null;
  text: string;
  status: StreamStatus;
  model: string | null;
  provider: string | null;
  error: string | null;
  startedAt: number;
  /** Time of the first delta (time to first token on screen). */
  firstDeltaAt: number | null;
}

interface StreamsState {
  byKey: Record<string, LiveStream>;
}

export const useStreams = create<StreamsState>(() => ({ byKey: {} }));

const controllers = new Map<string, AbortController>();

function patch(key: string, change: Partial<LiveStream>): void {
  useStreams.setState((s) => {
    const cur = s.byKey[key];
    if (!cur) return s;
    return { byKey: { ...s.byKey, [key]: { ...cur, ...change } } };
  });
}

function rekey(from: string, to: string): void {
  useStreams.setState((s) => {
    const cur = s.byKey[from];
    if (!cur) return s;
    const { [from]: _, ...rest } = s.byKey;
    return { byKey: { ...rest, [to]: { ...cur, key: to } } };
  });
  const c = controllers.get(from);
  if (c) {
    controllers.delete(from);
    controllers.set(to, c);
  }
}

export function streamFor(threadId: number | null): LiveStream | undefined {
  return useStreams.getState().byKey[threadId === null ? "new" : String(threadId)];
}

export const isLive = (s: LiveStream | undefined): boolean =>
  s !== undefined && (s.status === "connecting" || s.status === "streaming");

// ------------------------------------------------------------------ caches

export const treeKey = (id: number) => ["thread", id, "tree"] as const;
export const threadKey = (id: number) => ["thread", id] as const;

function upsertMessages(qc: QueryClient, threadId: number, msgs: Message[], activeId?: number) {
  qc.setQueryData<Tree>(treeKey(threadId), (old) => {
    if (!old) return old;
    const byId = new Map(old.messages.map((m) => [m.id, m]));
    for (const m of msgs) byId.set(m.id, { ...byId.get(m.id), ...m });
    return {
      active_message_id: activeId ?? old.active_message_id,
      messages: [...byId.values()].sort((a, b) => a.id - b.id),
    };
  });
}

function touchThreadLists(qc: QueryClient, thread: Partial<Thread> & { id: number }, add = false) {
  for (const [key, list] of qc.getQueriesData<Thread[]>({ queryKey: ["threads"] })) {
    if (!Array.isArray(list)) continue;
    const i = list.findIndex((t) => t.id === thread.id);
    if (i === -1) {
      if (add && isFullThread(thread) && listsNewThreads(key[1])) {
        qc.setQueryData(key, [thread, ...list]);
      }
      continue;
    }
    const cur = list[i];
    if (!cur) continue;
    const next = [...list];
    next.splice(i, 1);
    qc.setQueryData(key, [{ ...cur, ...thread }, ...next]);
  }
}

/** A new thread belongs in a list that is not filtered (search, category, archive). */
function listsNewThreads(params: unknown): boolean {
  if (!params || typeof params !== "object") return true;
  const p = params as Record<string, unknown>;
  return !p.is_archived && !p.search && p.category_id === undefined;
}

function isFullThread(t: Partial<Thread>): t is Thread {
  return typeof t.title === "string" && typeof t.user_id === "number";
}

// ------------------------------------------------------------------ running

export type StreamRequest =
  | {
      kind: "new";
      content: string;
      provider: string | null;
      model: string | null;
      images: string[];
    }
  | {
      kind: "send";
      threadId: number;
      content: string;
      provider: string | null;
      model: string | null;
      images: string[];
      /** The active leaf the question is appended to. */
      parentId: number | null;
    }
  | {
      kind: "regenerate";
      threadId: number;
      messageId: number;
      provider: string | null;
      model: string | null;
    }
  | {
      kind: "edit";
      threadId: number;
      messageId: number;
      parentId: number | null;
      content: string;
      provider: string | null;
      model: string | null;
    };

export interface StreamHooks {
  qc: QueryClient;
  /** The server created the thread of a new chat. */
  onThread?: (threadId: number) => void;
  /** A screen-reader friendly update (throttled by the caller). */
  onText?: (text: string) => void;
  onEnd?: (stream: LiveStream) => void;
}

function request(req: StreamRequest): { url: string; init: RequestInit } {
  const json = (body: unknown): RequestInit => ({
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const target = (r: { provider: string | null; model: string | null }) =>
    r.provider && r.model ? { provider: r.provider, model: r.model } : {};
  switch (req.kind) {
    case "new":
      return {
        url: "/api/threads/stream",
        init: json({ initial_message: req.content, ...target(req) }),
      };
    case "send":
      return {
        url: `/api/threads/${req.threadId}/stream`,
        init: json({
          content: req.content,
          ...target(req),
          ...(req.images.length ? { images: req.images, meta_data: { images: req.images } } : {}),
        }),
      };
    case "regenerate":
      return {
        url: `/api/threads/${req.threadId}/messages/${req.messageId}/regenerate?stream=true`,
        init: json(target(req)),
      };
    case "edit":
      return {
        url: `/api/threads/${req.threadId}/messages/${req.messageId}/edit?stream=true`,
        init: json({ content: req.content, ...target(req) }),
      };
  }
}

/** The route that re-attaches to a running answer (replay after Last-Event-ID, then live). */
export function resumeUrl(threadId: number, assistantId: number | null): string {
  return `/api/threads/${threadId}/stream${assistantId ? `?message_id=${assistantId}` : ""}`;
}

const fetchImpl = ((url: RequestInfo | URL, init?: RequestInit) =>
  apiFetch(String(url), init)) as typeof fetch;

const mark = (name: string, detail?: unknown) => {
  try {
    performance.mark(name, { detail });
  } catch {
    // marks are best effort
  }
};

/** Starts a generation; resolves when it ends (never rejects: errors land in the store). */
/**
 * A tree fetch still in flight would land after (and over) what the stream
 * writes into the cache: cancel it first (it reverts to the cached data).
 */
async function settleTree(qc: QueryClient, frame: SseFrame): Promise<void> {
  try {
    const tid = Number((JSON.parse(frame.data) as { thread_id?: unknown }).thread_id);
    // A first fetch (nothing cached) already holds the new messages: let it land.
    if (Number.isSafeInteger(tid) && qc.getQueryData(treeKey(tid)) !== undefined) {
      await qc.cancelQueries({ queryKey: treeKey(tid) });
    }
  } catch {
    // a malformed frame is ignored by onFrame as well
  }
}

async function createThread(
  req: { content: string; provider: string | null; model: string | null },
  signal: AbortSignal,
): Promise<Thread> {
  const title = (req.content.split("\n")[0] ?? "").trim().slice(0, 80) || "New chat";
  const res = await apiFetch("/api/threads/", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      title,
      ...(req.provider && req.model ? { provider: req.provider, model: req.model } : {}),
    }),
    signal,
  });
  const body = (await res.json().catch(() => ({}))) as Thread & { error_message?: string };
  if (!res.ok)
    throw new StreamHttpError(res.status, null, body.error_message ?? `HTTP ${res.status}`);
  return body;
}

export async function runStream(initial: StreamRequest, hooks: StreamHooks): Promise<LiveStream> {
  let req = initial;
  let key = req.kind === "new" ? "new" : String(req.threadId);
  controllers.get(key)?.abort();
  const controller = new AbortController();
  controllers.set(key, controller);
  const question =
    req.kind === "new" || req.kind === "send" || req.kind === "edit"
      ? { content: req.content, images: req.kind === "edit" ? [] : req.images }
      : null;
  useStreams.setState((s) => ({
    byKey: {
      ...s.byKey,
      [key]: {
        key,
        threadId: req.kind === "new" ? null : req.threadId,
        userMessageId: null,
        assistantId: null,
        question,
        text: "",
        status: "connecting",
        model: req.model,
        provider: req.provider,
        error: null,
        startedAt: performance.now(),
        firstDeltaAt: null,
      },
    },
  }));
  const { qc } = hooks;
  let text = "";
  const batcher = new FrameBatcher((delta) => {
    text += delta;
    const cur = useStreams.getState().byKey[key];
    patch(key, {
      text,
      status: "streaming",
      firstDeltaAt: cur?.firstDeltaAt ?? performance.now(),
    });
    hooks.onText?.(text);
  });
  let threadId: number | null = req.kind === "new" ? null : req.threadId;
  let assistantId: number | null = null;
  let finalStatus: StreamStatus = "interrupted";
  let error: string | null = null;
  let done: Record<string, unknown> | null = null;

  const onFrame = (frame: SseFrame) => {
    let data: Record<string, unknown> = {};
    try {
      data = JSON.parse(frame.data) as Record<string, unknown>;
    } catch {
      return;
    }
    switch (frame.event) {
      case "thread": {
        const t = data as unknown as Thread;
        threadId = t.id;
        rekey(key, String(t.id));
        key = String(t.id);
        patch(key, { threadId: t.id });
        touchThreadLists(qc, t, true);
        hooks.onThread?.(t.id);
        break;
      }
      case "start": {
        const tid = Number(data.thread_id);
        threadId = tid;
        assistantId = Number(data.assistant_message_id);
        const userId = Number(data.user_message_id);
        const model = (data.model as string) ?? null;
        const provider = (data.provider as string) ?? null;
        patch(key, {
          threadId: tid,
          assistantId,
          userMessageId: userId,
          model,
          provider,
          status: "streaming",
        });
        const now = new Date().toISOString();
        const msgs: Message[] = [];
        if (req.kind === "send" || req.kind === "edit") {
          msgs.push({
            id: userId,
            thread_id: tid,
            role: "user",
            content: req.content,
            tokens: null,
            model: null,
            provider: null,
            meta_data: req.kind === "send" && req.images.length ? { images: req.images } : {},
            created_at: now,
            parent_id: req.parentId,
            status: "complete",
          });
        }
        msgs.push({
          id: assistantId,
          thread_id: tid,
          role: "assistant",
          content: "",
          tokens: null,
          model,
          provider,
          meta_data: {},
          created_at: now,
          parent_id: userId,
          status: "streaming",
        });
        upsertMessages(qc, tid, msgs, assistantId);
        mark("aihub:stream-start");
        break;
      }
      case "delta": {
        const content = typeof data.content === "string" ? data.content : "";
        batcher.push(content);
        mark("aihub:sse-delta", { id: frame.id });
        break;
      }
      case "error":
        error = typeof data.error_message === "string" ? data.error_message : "The answer failed";
        break;
      case "done":
        done = data;
        finalStatus = (data.status as StreamStatus) ?? "complete";
        break;
    }
  };

  try {
    if (req.kind === "new" && req.images.length) {
      // /api/threads/stream takes no images: make the thread, then send into it.
      const thread = await createThread(req, controller.signal);
      onFrame({ event: "thread", id: null, data: JSON.stringify(thread) });
      req = {
        kind: "send",
        threadId: thread.id,
        content: req.content,
        provider: req.provider,
        model: req.model,
        images: req.images,
        parentId: null,
      };
    }
    for await (const frame of resumableSse({
      open: () => request(req),
      resume: () => ({ url: resumeUrl(threadId ?? 0, assistantId), init: { method: "GET" } }),
      isFinished: (f) => f.event === "done",
      signal: controller.signal,
      fetchImpl,
      maxRetries: 3,
    })) {
      if (frame.event === "start") await settleTree(qc, frame);
      onFrame(frame);
    }
  } catch (err) {
    if (controller.signal.aborted) finalStatus = "stopped";
    else {
      finalStatus = "error";
      error =
        err instanceof StreamHttpError
          ? err.message
          : err instanceof Error
            ? err.message
            : String(err);
    }
  }
  batcher.flush();
  batcher.dispose();
  if (controllers.get(key) === controller) controllers.delete(key);

  if (threadId !== null && assistantId !== null) {
    if (qc.getQueryData(treeKey(threadId)) !== undefined) {
      await qc.cancelQueries({ queryKey: treeKey(threadId) });
    }
    const d = (done ?? {}) as Record<string, unknown>;
    const meta: Record<string, unknown> = {};
    if (d.usage) meta.tokens = d.usage;
    if (typeof d.cost === "number") meta.cost = d.cost;
    if (typeof d.latency_ms === "number") meta.latency_ms = d.latency_ms;
    if (error) meta.error = { error_message: error };
    const st = done ? finalStatus : "interrupted";
    const stream = useStreams.getState().byKey[key];
    upsertMessages(qc, threadId, [
      {
        id: assistantId,
        thread_id: threadId,
        role: "assistant",
        content: text,
        tokens: null,
        model: stream?.model ?? null,
        provider: stream?.provider ?? null,
        meta_data: meta,
        created_at: new Date().toISOString(),
        parent_id: stream?.userMessageId ?? null,
        status: st,
      },
    ]);
    touchThreadLists(qc, { id: threadId, last_message_at: new Date().toISOString() });
    if (initial.kind === "new" || qc.getQueryData(treeKey(threadId)) === undefined) {
      // The new thread's first messages (and its system prompt) as stored.
      void qc.invalidateQueries({ queryKey: treeKey(threadId) });
      void qc.invalidateQueries({ queryKey: ["threads"] });
    }
  }
  patch(key, { status: finalStatus, error, text });
  mark("aihub:stream-done", { status: finalStatus });
  const ended = useStreams.getState().byKey[key];
  // Finished answers live in the query cache from now on.
  useStreams.setState((s) => {
    const { [key]: _, ...rest } = s.byKey;
    return { byKey: rest };
  });
  if (ended) hooks.onEnd?.(ended);
  return ended ?? ({} as LiveStream);
}

/** Stop: tell the server (it keeps the partial text), then drop our connection. */
export async function stopStream(threadId: number | null): Promise<void> {
  const key = threadId === null ? "new" : String(threadId);
  const s = useStreams.getState().byKey[key];
  const tid = s?.threadId ?? threadId;
  if (tid !== null && tid !== undefined) {
    const q = s?.assistantId ? `?message_id=${s.assistantId}` : "";
    try {
      await apiFetch(`/api/threads/${tid}/stream/stop${q}`, { method: "POST" });
    } catch {
      // the abort below still ends it on our side
    }
  }
  const controller = controllers.get(key);
  if (tid === null || tid === undefined) {
    controller?.abort(); // nothing stored server-side yet that we could name
    return;
  }
  // Give the server a moment to send its own done frame (with the stored status).
  setTimeout(() => controller?.abort(), 1500);
}

/** Whether the server re-attaches to running answers (learnt on first try). */
let resumeRoute: "unknown" | "missing" = "unknown";

/**
 * Follow an answer another tab (or a previous page load) started: replay +
 * live tail through the resume route. Returns false when the server has no
 * such route, so the caller can fall back to polling the stored message.
 */
export async function resumeStream(
  threadId: number,
  assistant: Message,
  hooks: StreamHooks,
): Promise<boolean> {
  const key = String(threadId);
  if (controllers.has(key)) return true;
  if (resumeRoute === "missing") return false;
  const controller = new AbortController();
  controllers.set(key, controller);
  // The entry appears with the first frame: a refused resume shows nothing.
  const open = () => {
    if (useStreams.getState().byKey[key]) return;
    useStreams.setState((s) => ({
      byKey: {
        ...s.byKey,
        [key]: {
          key,
          threadId,
          userMessageId: assistant.parent_id,
          assistantId: assistant.id,
          question: null,
          text: "",
          status: "streaming",
          model: assistant.model,
          provider: assistant.provider,
          error: null,
          startedAt: performance.now(),
          firstDeltaAt: null,
        },
      },
    }));
  };
  let text = "";
  let done: Record<string, unknown> | null = null;
  let supported = true;
  const batcher = new FrameBatcher((delta) => {
    text += delta;
    patch(key, { text });
    hooks.onText?.(text);
  });
  try {
    for await (const frame of resumableSse({
      open: () => ({ url: resumeUrl(threadId, assistant.id), init: { method: "GET" } }),
      resume: () => ({ url: resumeUrl(threadId, assistant.id), init: { method: "GET" } }),
      isFinished: (f) => f.event === "done",
      signal: controller.signal,
      fetchImpl,
      maxRetries: 3,
    })) {
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(frame.data) as Record<string, unknown>;
      } catch {
        continue;
      }
      open();
      if (frame.event === "delta" && typeof data.content === "string") {
        batcher.push(data.content);
        mark("aihub:sse-delta", { id: frame.id });
      } else if (frame.event === "done") done = data;
    }
  } catch (err) {
    if (err instanceof StreamHttpError && (err.status === 404 || err.status === 405)) {
      supported = false;
      // 405: this server has no resume route at all; 404: the run is gone.
      if (err.status === 405) resumeRoute = "missing";
    }
  }
  batcher.flush();
  batcher.dispose();
  controllers.delete(key);
  useStreams.setState((s) => {
    const { [key]: _, ...rest } = s.byKey;
    return { byKey: rest };
  });
  if (supported) {
    // The stored message now holds the whole answer and its figures.
    if (done) await hooks.qc.invalidateQueries({ queryKey: treeKey(threadId) });
  }
  return supported;
}

export function abortAll(): void {
  for (const c of controllers.values()) c.abort();
  controllers.clear();
}
