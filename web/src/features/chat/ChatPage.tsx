/**
 * The chat screen (routes `/` and `/c/:threadId`): the active branch of a
 * thread, streaming answers, branches (n of m, the branch map, fork), drafts,
 * resume of a running answer, shortcuts and per-answer/per-thread figures.
 */
import "./chat.css";
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useNavigate, useParams } from "react-router";
import { create } from "zustand";
import { useUi } from "../../store/ui";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { Spinner } from "../../ui/Spinner";
import { toast, toastError } from "../../ui/Toast";
import { useAuth } from "../auth/useAuth";
import { useDefaultModel, useUsableModels } from "../models/hooks";
import type { ModelRef } from "../models/ModelPicker";
import { BranchMap } from "./BranchMap";
import { Composer, type ComposerHandle } from "./Composer";
import { useActivate, useFork, useThreadInfo, useThreadTree, useThreadView } from "./data";
import { SentenceAnnouncer } from "./lib/announcer";
import { drafts } from "./lib/drafts";
import { formatCost } from "./lib/format";
import { branchMap, threadCost } from "./lib/tree";
import { MessageList, type MessageListHandle } from "./MessageList";
import type { RowActions } from "./MessageRow";
import { matchShortcut, SHORTCUTS } from "./shortcuts";
import {
  isLive,
  type Message,
  resumeStream,
  runStream,
  stopStream,
  treeKey,
  useStreams,
} from "./streams";

const MODEL_KEY = "aihub.chat.model";

/**
 * One announcer for the page's aria-live region, outside the component: a new
 * chat's answer keeps being announced across the move from / to /c/:id.
 */
const useAnnounce = create<{ text: string }>(() => ({ text: "" }));
const announcer = new SentenceAnnouncer((text) => useAnnounce.setState({ text }));

function lastModel(): ModelRef | null {
  try {
    const v = JSON.parse(localStorage.getItem(MODEL_KEY) ?? "null") as ModelRef | null;
    return v?.provider && v.model ? v : null;
  } catch {
    return null;
  }
}

async function copy(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast("Copied");
  } catch {
    toastError("Could not copy (clipboard not allowed)");
  }
}

function parseId(raw: string | undefined): number | null {
  if (!raw) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export default function ChatPage() {
  const params = useParams();
  const threadId = parseId(params.threadId);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const { user } = useAuth();
  const userId = user?.id ?? "anon";
  const liveKey = threadId === null ? "new" : String(threadId);
  const stream = useStreams((s) => s.byKey[liveKey]);
  const live = isLive(stream);
  const tree = useThreadTree(threadId);
  const info = useThreadInfo(threadId);
  const view = useThreadView(tree.data);
  const activate = useActivate(threadId);
  const fork = useFork(threadId);
  const { usable } = useUsableModels();
  const defaultModel = useDefaultModel().model;
  const list = useRef<MessageListHandle>(null);
  const composer = useRef<ComposerHandle>(null);
  const [mapOpen, setMapOpen] = useState(false);
  const announce = useAnnounce((s) => s.text);
  const helpOpen = useUi((s) => s.shortcutsHelpOpen);
  const setHelpOpen = useUi((s) => s.setShortcutsHelpOpen);
  const focusSearch = useUi((s) => s.focusSearch);

  // ---------------------------------------------------------------- model
  const [model, setModelState] = useState<ModelRef | null>(lastModel);
  useEffect(() => {
    const t = info.data;
    const isUsable = (m: ModelRef | null) =>
      !!m && usable.some((u) => u.provider === m.provider && u.id === m.model);
    const fromThread = t?.provider && t.model ? { provider: t.provider, model: t.model } : null;
    setModelState((cur) => {
      if (isUsable(fromThread)) return fromThread;
      if (isUsable(cur)) return cur;
      if (defaultModel) return defaultModel;
      const first = usable[0];
      return first ? { provider: first.provider, model: first.id } : cur;
    });
  }, [info.data, usable, defaultModel]);
  const setModel = useCallback((m: ModelRef) => {
    setModelState(m);
    try {
      localStorage.setItem(MODEL_KEY, JSON.stringify(m));
    } catch {
      // not remembered
    }
  }, []);

  // ------------------------------------------------------- announcements
  const hooks = useMemo(
    () => ({
      qc,
      onThread: (id: number) => {
        drafts.move(userId, "new", id);
        // Only if the reader is still on the new chat (not gone to another thread).
        if (window.location.pathname === "/") navigate(`/c/${id}`, { replace: true });
      },
      onText: (t: string) => announcer.update(t),
      onEnd: (s: { text: string; status: string; error: string | null }) => {
        announcer.finish(s.text, s.status);
        if (s.error) toastError(s.error);
      },
    }),
    [qc, navigate, userId],
  );

  // ------------------------------------------------------------- messages
  const messages: Message[] = useMemo(() => {
    const path = view?.path ?? [];
    if (threadId !== null && tree.data) return path;
    // A new chat streaming before the server named its thread.
    if (stream?.question) {
      const now = new Date().toISOString();
      return [
        {
          id: stream.userMessageId ?? -1,
          thread_id: 0,
          role: "user",
          content: stream.question.content,
          tokens: null,
          model: null,
          provider: null,
          meta_data: stream.question.images.length ? { images: stream.question.images } : {},
          created_at: now,
          parent_id: null,
          status: "complete",
        },
        {
          id: stream.assistantId ?? -2,
          thread_id: 0,
          role: "assistant",
          content: "",
          tokens: null,
          model: stream.model,
          provider: stream.provider,
          meta_data: {},
          created_at: now,
          parent_id: stream.userMessageId ?? -1,
          status: "streaming",
        },
      ];
    }
    return path;
  }, [
    view,
    threadId,
    tree.data,
    stream?.question,
    stream?.model,
    stream?.provider,
    stream?.userMessageId,
    stream?.assistantId,
  ]);
  const liveId = live ? (stream?.assistantId ?? (messages.length ? -2 : null)) : null;
  const lastAnswer = [...messages].reverse().find((m) => m.role === "assistant");

  // Marks for the benchmark: the thread's rows are on screen.
  const loaded = threadId !== null && tree.data !== undefined;
  useEffect(() => {
    if (!loaded) return;
    requestAnimationFrame(() => {
      try {
        performance.mark("aihub:thread-ready", { detail: { threadId } });
      } catch {
        // best effort
      }
    });
  }, [loaded, threadId]);

  // ------------------------------------------------ resume a running answer
  const leaf = view?.path[view.path.length - 1];
  const orphanId =
    leaf && leaf.role === "assistant" && leaf.status === "streaming" && !stream ? leaf.id : null;
  const leafRef = useRef(leaf);
  leafRef.current = leaf;
  useEffect(() => {
    const target = leafRef.current;
    if (orphanId === null || threadId === null || !target) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Without a resume route: follow the stored text (written as it grows) until it ends.
    const poll = () => {
      void qc.invalidateQueries({ queryKey: treeKey(threadId) }).then(() => {
        if (!cancelled) timer = setTimeout(poll, 700);
      });
    };
    void resumeStream(threadId, target, hooks).then((supported) => {
      if (!supported && !cancelled) timer = setTimeout(poll, 300);
    });
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [orphanId, threadId, hooks, qc]);

  // ---------------------------------------------------------------- actions
  const startStream = useCallback(
    (req: Parameters<typeof runStream>[0]) => {
      announcer.reset();
      list.current?.jumpToLatest();
      void runStream(req, hooks);
    },
    [hooks],
  );

  const onSend = useCallback(
    (content: string, images: string[]): boolean => {
      if (live) return false;
      const target = { provider: model?.provider ?? null, model: model?.model ?? null };
      if (threadId === null) {
        startStream({ kind: "new", content, images, ...target });
      } else {
        startStream({
          kind: "send",
          threadId,
          content,
          images,
          parentId: view?.activeId ?? null,
          ...target,
        });
      }
      return true;
    },
    [live, model, threadId, view?.activeId, startStream],
  );

  const onStop = useCallback(() => {
    void stopStream(threadId);
  }, [threadId]);

  const actionsRef = useRef({ threadId, model, live, startStream, activate, fork, navigate, qc });
  actionsRef.current = { threadId, model, live, startStream, activate, fork, navigate, qc };
  const actions: RowActions = useMemo(
    () => ({
      onSwitch: (id) => {
        const a = actionsRef.current;
        if (a.live) return;
        a.activate.mutate(id, { onError: (e) => toastError(e.message) });
      },
      onRegenerate: (m) => {
        const a = actionsRef.current;
        if (a.live || a.threadId === null) return;
        a.startStream({
          kind: "regenerate",
          threadId: a.threadId,
          messageId: m.id,
          provider: a.model?.provider ?? null,
          model: a.model?.model ?? null,
        });
      },
      onEdit: (m, content) => {
        const a = actionsRef.current;
        if (a.live || a.threadId === null) return;
        a.startStream({
          kind: "edit",
          threadId: a.threadId,
          messageId: m.id,
          parentId: m.parent_id,
          content,
          provider: a.model?.provider ?? null,
          model: a.model?.model ?? null,
        });
      },
      onFork: (m) => {
        const a = actionsRef.current;
        a.fork.mutate(m.id, {
          onSuccess: (t) => {
            toast("Forked into a new chat");
            a.navigate(`/c/${t.id}`);
          },
          onError: (e) => toastError(e.message),
        });
      },
      onCopy: (text) => void copy(text),
    }),
    [],
  );

  const pickBranch = useCallback(
    (startId: number) => {
      if (!view) return;
      activate.mutate(startId, {
        onSuccess: () => list.current?.scrollToMessage(startId),
        onError: (e) => toastError(e.message),
      });
      requestAnimationFrame(() => list.current?.scrollToMessage(startId));
    },
    [view, activate],
  );

  // -------------------------------------------------------------- shortcuts
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const action = matchShortcut(e);
      if (!action) return;
      const dialogOpen = document.querySelector("dialog[open]") !== null;
      switch (action) {
        case "stop":
          if (!live || dialogOpen) return;
          onStop();
          break;
        case "newChat":
          navigate("/");
          requestAnimationFrame(() => composer.current?.focus());
          break;
        case "focusInput":
          if (dialogOpen) return;
          composer.current?.focus();
          break;
        case "regenerate":
          if (lastAnswer && !live) actions.onRegenerate(lastAnswer);
          break;
        case "copyLast":
          if (lastAnswer) void copy(lastAnswer.content);
          break;
        case "search":
          focusSearch();
          break;
        case "help":
          setHelpOpen(!useUi.getState().shortcutsHelpOpen);
          break;
      }
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [live, onStop, navigate, lastAnswer, actions, focusSearch, setHelpOpen]);

  // --------------------------------------------------------------- figures
  const total = tree.data ? threadCost(tree.data.messages) : 0;
  const branchCount = useMemo(
    () => (view ? branchMap(view.index, view.activeId).length : 0),
    [view],
  );
  const title = threadId === null ? "New chat" : (info.data?.title ?? "Chat");
  useEffect(() => {
    document.title = `${title} · aihub`;
  }, [title]);

  const notFound = threadId !== null && tree.isError;
  const busy = live || activate.isPending;

  return (
    <div className="chat">
      <header className="chat-head">
        <h1 className="chat-title">{title}</h1>
        {threadId !== null ? (
          <>
            <span className="chat-total" title="Everything this thread has cost, all branches">
              <span className="sr-only">Thread total: </span>
              {formatCost(total)}
            </span>
            <Button
              variant="ghost"
              onClick={() => setMapOpen((o) => !o)}
              aria-expanded={mapOpen}
              aria-controls="branch-map"
            >
              Branches{branchCount ? ` (${branchCount})` : ""}
            </Button>
          </>
        ) : null}
        <Button variant="ghost" onClick={() => setHelpOpen(true)} aria-label="Keyboard shortcuts">
          ?
        </Button>
      </header>
      <div className="chat-body">
        <div className="chat-main">
          {notFound ? (
            <div className="chat-empty">
              <p>This chat does not exist or is not yours.</p>
              <Button onClick={() => navigate("/")}>Start a new chat</Button>
            </div>
          ) : threadId !== null && tree.isLoading && messages.length === 0 ? (
            <div className="chat-empty">
              <Spinner label="Loading the chat" />
            </div>
          ) : messages.length === 0 ? (
            <div className="chat-empty">
              <h2>What can I help with?</h2>
              <p className="muted">
                Enter sends, Shift+Enter adds a line. Press ? for keyboard shortcuts.
              </p>
            </div>
          ) : (
            <MessageList
              ref={list}
              messages={messages}
              index={view?.index ?? { byId: new Map(), children: new Map() }}
              liveKey={liveKey}
              liveId={liveId}
              busy={busy}
              actions={actions}
            />
          )}
          <Composer
            ref={composer}
            userId={userId}
            draftKey={threadId ?? "new"}
            model={model}
            onModel={setModel}
            streaming={live}
            onSend={onSend}
            onStop={onStop}
          />
        </div>
        {mapOpen && view ? (
          <div id="branch-map" className="branch-map-wrap">
            <BranchMap
              index={view.index}
              activeId={view.activeId}
              busy={busy}
              onPick={pickBranch}
              onClose={() => setMapOpen(false)}
            />
          </div>
        ) : null}
      </div>
      <div className="sr-only" aria-live="polite" aria-atomic="true" role="status">
        {announce}
      </div>
      <Dialog open={helpOpen} title="Keyboard shortcuts" onClose={() => setHelpOpen(false)}>
        <table className="shortcuts">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.action}>
                <th scope="row">{s.label}</th>
                <td>
                  <kbd>{s.keys}</kbd>
                </td>
              </tr>
            ))}
            <tr>
              <th scope="row">Send / new line</th>
              <td>
                <kbd>Enter</kbd> / <kbd>Shift+Enter</kbd>
              </td>
            </tr>
          </tbody>
        </table>
      </Dialog>
    </div>
  );
}
