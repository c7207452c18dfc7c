/**
 * One message of the active branch. Finished messages are memoised: a row
 * re-renders only when its message object, its sibling position or its busy
 * state changes; the streaming answer reads its text from the stream store.
 */
import { memo, useEffect, useLayoutEffect, useRef, useState } from "react";
import { apiFetch } from "../../api/fetch";
import { Button, IconButton } from "../../ui/Button";
import { CopyIcon, EditIcon, ForkIcon, NextIcon, PrevIcon, RegenerateIcon } from "./icons";
import { formatCost, formatLatency, formatTokens, statsFromMeta } from "./lib/format";
import { reportPaintCost } from "./lib/frameBatcher";
import type { SiblingInfo } from "./lib/tree";
import { Markdown, onCodeCopyClick } from "./Markdown";
import { type Message, useStreams } from "./streams";

export interface RowActions {
  onSwitch: (messageId: number) => void;
  onRegenerate: (message: Message) => void;
  onEdit: (message: Message, content: string) => void;
  onFork: (message: Message) => void;
  onCopy: (text: string) => void;
}

/** An image of ours needs the bearer token: fetched, shown from a blob URL. */
function AuthImage({ src, alt }: { src: string; alt: string }) {
  const [url, setUrl] = useState<string | null>(src.startsWith("data:") ? src : null);
  useEffect(() => {
    if (src.startsWith("data:")) return;
    let live = true;
    let made: string | null = null;
    apiFetch(src)
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
      .then((b) => {
        made = URL.createObjectURL(b);
        if (live) setUrl(made);
      })
      .catch(() => undefined);
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [src]);
  return url ? (
    <img className="msg-image" src={url} alt={alt} loading="lazy" />
  ) : (
    <span className="msg-image msg-image-loading">{alt}</span>
  );
}

function SiblingSwitch({
  info,
  label,
  onSwitch,
  disabled,
}: {
  info: SiblingInfo;
  label: string;
  onSwitch: (id: number) => void;
  disabled: boolean;
}) {
  if (info.count < 2) return null;
  return (
    <nav className="sibling-switch" aria-label={`${label} versions`}>
      <IconButton
        label={`Previous version of ${label}`}
        icon={<PrevIcon />}
        disabled={disabled || info.prevId === null}
        onClick={() => info.prevId !== null && onSwitch(info.prevId)}
      />
      <span className="sibling-pos" aria-live="off">
        {info.index}/{info.count}
      </span>
      <IconButton
        label={`Next version of ${label}`}
        icon={<NextIcon />}
        disabled={disabled || info.nextId === null}
        onClick={() => info.nextId !== null && onSwitch(info.nextId)}
      />
    </nav>
  );
}

function Stats({ m }: { m: Message }) {
  const s = statsFromMeta(m.meta_data, m.model, m.provider);
  return (
    <p className="msg-stats">
      <span className="sr-only">Answer details: </span>
      <span title="Model">{s.model ?? "?"}</span>
      <span title="Provider">{s.provider ?? "?"}</span>
      <span title="Latency">{formatLatency(s.latencyMs)}</span>
      <span title="Tokens in / out">
        {formatTokens(s.promptTokens)} → {formatTokens(s.completionTokens)} tok
      </span>
      <span title="Cost">{formatCost(s.cost)}</span>
      {m.status !== "complete" ? (
        <span className={`msg-status st-${m.status}`}>{m.status}</span>
      ) : null}
    </p>
  );
}

/** The text of the answer being streamed into this row (from the stream store). */
function LiveText({ threadKey, fallback }: { threadKey: string; fallback: string }) {
  const text = useStreams((s) => s.byKey[threadKey]?.text);
  const shown = text || fallback;
  const renderStart = useRef(0);
  renderStart.current = performance.now();
  useLayoutEffect(() => {
    if (text === undefined) return;
    reportPaintCost(performance.now() - renderStart.current);
    // The benchmark's "text on screen" moment: after React wrote it to the DOM.
    try {
      performance.mark("aihub:delta-painted", { detail: { chars: text.length } });
    } catch {
      // best effort
    }
  }, [text]);
  return shown ? (
    <Markdown text={shown} streaming />
  ) : (
    <p className="msg-thinking">
      <span className="dots" aria-hidden="true" />
      Thinking…
    </p>
  );
}

export const MessageRow = memo(MessageRowView, sameRow);

function MessageRowView({
  message,
  siblings,
  live,
  liveKey,
  busy,
  actions,
}: {
  message: Message;
  siblings: SiblingInfo;
  /** This is the answer streaming right now. */
  live: boolean;
  liveKey: string;
  /** Some answer of this thread is streaming: branch actions wait. */
  busy: boolean;
  actions: RowActions;
}) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const isUser = message.role === "user";
  const who = isUser ? "Your message" : "Answer";
  const images = Array.isArray(message.meta_data?.images)
    ? (message.meta_data.images as unknown[]).filter((x): x is string => typeof x === "string")
    : [];
  const error = (message.meta_data?.error as { error_message?: string } | undefined)?.error_message;

  return (
    <article
      className={`msg msg-${isUser ? "user" : "assistant"}`}
      aria-label={who}
      data-message-id={message.id}
    >
      {images.length ? (
        <div className="msg-images">
          {images.map((src, i) => (
            <AuthImage key={src} src={src} alt={`Attached image ${i + 1}`} />
          ))}
        </div>
      ) : null}
      {editing ? (
        <form
          className="msg-edit"
          onSubmit={(e) => {
            e.preventDefault();
            if (!draft.trim()) return;
            setEditing(false);
            actions.onEdit(message, draft);
          }}
        >
          <label className="sr-only" htmlFor={`edit-${message.id}`}>
            Edit message
          </label>
          <textarea
            id={`edit-${message.id}`}
            value={draft}
            rows={Math.min(12, draft.split("\n").length + 1)}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                e.stopPropagation();
                setEditing(false);
              }
              if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
            // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this message
            autoFocus
          />
          <div className="msg-edit-actions">
            <Button type="submit" variant="primary">
              Save and answer
            </Button>
            <Button onClick={() => setEditing(false)}>Cancel</Button>
          </div>
        </form>
      ) : (
        // biome-ignore lint/a11y/useKeyWithClickEvents lint/a11y/noStaticElementInteractions: delegation for the code blocks' own copy buttons
        <div className="msg-body" onClick={onCodeCopyClick}>
          {isUser ? (
            <p className="msg-user-text">{message.content}</p>
          ) : live ? (
            <LiveText threadKey={liveKey} fallback={message.content} />
          ) : (
            <Markdown text={message.content} />
          )}
          {error ? (
            <p className="msg-error" role="alert">
              {error}
            </p>
          ) : null}
        </div>
      )}
      <footer className="msg-foot">
        <SiblingSwitch
          info={siblings}
          label={isUser ? "your message" : "the answer"}
          onSwitch={actions.onSwitch}
          disabled={busy}
        />
        {!isUser && !live ? <Stats m={message} /> : null}
        {!editing ? (
          <div className="msg-actions">
            <IconButton
              label={isUser ? "Copy message" : "Copy answer"}
              icon={<CopyIcon />}
              onClick={() => actions.onCopy(message.content)}
            />
            {isUser ? (
              <IconButton
                label="Edit message"
                icon={<EditIcon />}
                disabled={busy}
                onClick={() => {
                  setDraft(message.content);
                  setEditing(true);
                }}
              />
            ) : (
              <IconButton
                label="Regenerate answer"
                icon={<RegenerateIcon />}
                disabled={busy}
                onClick={() => actions.onRegenerate(message)}
              />
            )}
            <IconButton
              label="Fork from here into a new chat"
              icon={<ForkIcon />}
              disabled={live}
              onClick={() => actions.onFork(message)}
            />
          </div>
        ) : null}
      </footer>
    </article>
  );
}

type RowProps = Parameters<typeof MessageRowView>[0];

function sameRow(a: RowProps, b: RowProps): boolean {
  return (
    a.message === b.message &&
    a.live === b.live &&
    a.liveKey === b.liveKey &&
    a.busy === b.busy &&
    a.actions === b.actions &&
    a.siblings.index === b.siblings.index &&
    a.siblings.count === b.siblings.count &&
    a.siblings.prevId === b.siblings.prevId &&
    a.siblings.nextId === b.siblings.nextId
  );
}
