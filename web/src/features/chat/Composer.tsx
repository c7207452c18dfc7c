/**
 * The composer: text (Enter sends, Shift+Enter is a newline), image
 * attachments, the model picker, send/stop. The draft is saved per thread on
 * every keystroke. When no model is usable the box says why instead of
 * offering an empty picker.
 */
import { forwardRef, useEffect, useId, useImperativeHandle, useRef, useState } from "react";
import { useUi } from "../../store/ui";
import { Button, IconButton } from "../../ui/Button";
import { toastError } from "../../ui/Toast";
import { useUsableModels } from "../models/hooks";
import { ModelPicker, type ModelRef } from "../models/ModelPicker";
import { NoModelsNotice } from "../onboarding/NoModelsNotice";
import { uploadImage } from "./data";
import { AttachIcon } from "./icons";
import { type DraftKey, drafts } from "./lib/drafts";

export interface ComposerHandle {
  focus: () => void;
}

export interface Attachment {
  url: string;
  name: string;
  preview: string;
}

const MAX_IMAGES = 16;

export const Composer = forwardRef<
  ComposerHandle,
  {
    userId: number | string;
    draftKey: DraftKey;
    model: ModelRef | null;
    onModel: (m: ModelRef) => void;
    streaming: boolean;
    onSend: (text: string, images: string[]) => boolean;
    onStop: () => void;
  }
>(function Composer({ userId, draftKey, model, onModel, streaming, onSend, onStop }, ref) {
  const [text, setText] = useState(() => drafts.load(userId, draftKey));
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [uploading, setUploading] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const file = useRef<HTMLInputElement>(null);
  const hintId = useId();
  const prefill = useUi((s) => s.composerPrefill);
  const setPrefill = useUi((s) => s.setComposerPrefill);
  const { usable, status, isLoading, error } = useUsableModels();
  const noModel = !isLoading && !error && usable.length === 0;
  const selected = usable.find((m) => m.provider === model?.provider && m.id === model?.model);
  const vision = selected ? selected.capabilities.includes("vision") : true;

  useImperativeHandle(ref, () => ({ focus: () => area.current?.focus() }), []);

  // Another thread (or the new chat): its own draft. The user becoming known
  // (sign-in data loaded) keeps what is typed and files it under them.
  const shown = useRef({ userId, draftKey });
  useEffect(() => {
    const before = shown.current;
    shown.current = { userId, draftKey };
    if (before.draftKey === draftKey && before.userId !== userId) {
      const typed = area.current?.value ?? "";
      if (typed) drafts.save(userId, draftKey, typed);
      else setText(drafts.load(userId, draftKey));
      return;
    }
    if (before.draftKey === draftKey) return;
    setText(drafts.load(userId, draftKey));
    setAttachments([]);
  }, [userId, draftKey]);

  // "Use in chat" from the prompt library.
  useEffect(() => {
    if (prefill === null) return;
    setText(prefill);
    drafts.save(userId, draftKey, prefill);
    setPrefill(null);
    area.current?.focus();
  }, [prefill, setPrefill, userId, draftKey]);

  // Grow with the text up to a limit.
  // biome-ignore lint/correctness/useExhaustiveDependencies: measure on text change
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [text]);

  const change = (value: string) => {
    setText(value);
    drafts.save(userId, draftKey, value);
  };

  const send = () => {
    if (streaming || noModel || uploading) return;
    const value = text.trim();
    if (!value) return;
    if (
      onSend(
        value,
        attachments.map((a) => a.url),
      )
    ) {
      setText("");
      drafts.clear(userId, draftKey);
      for (const a of attachments) URL.revokeObjectURL(a.preview);
      setAttachments([]);
    }
  };

  const attach = async (files: FileList | null) => {
    if (!files?.length) return;
    const list = [...files].slice(0, MAX_IMAGES - attachments.length);
    setUploading((n) => n + list.length);
    for (const f of list) {
      try {
        const url = await uploadImage(f);
        setAttachments((a) => [...a, { url, name: f.name, preview: URL.createObjectURL(f) }]);
      } catch (err) {
        toastError(err instanceof Error ? err.message : "Upload failed");
      } finally {
        setUploading((n) => n - 1);
      }
    }
  };

  if (noModel) {
    return (
      <section className="composer composer-disabled" aria-label="Message composer">
        <NoModelsNotice status={status} />
      </section>
    );
  }

  return (
    <form
      className="composer"
      aria-label="Message composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {attachments.length || uploading ? (
        <ul className="attachments" aria-label="Attached images">
          {attachments.map((a) => (
            <li key={a.url}>
              <img src={a.preview} alt={a.name} />
              <IconButton
                label={`Remove ${a.name}`}
                icon="×"
                onClick={() => {
                  URL.revokeObjectURL(a.preview);
                  setAttachments((list) => list.filter((x) => x.url !== a.url));
                }}
              />
            </li>
          ))}
          {uploading ? <li className="attachment-uploading">Uploading…</li> : null}
        </ul>
      ) : null}
      {!vision && attachments.length ? (
        <p className="composer-hint" role="status">
          The selected model does not read images; pick one marked “vision”.
        </p>
      ) : null}
      <label htmlFor="chat-input" className="sr-only">
        Message
      </label>
      <textarea
        id="chat-input"
        ref={area}
        className="composer-input"
        placeholder="Message aihub…"
        rows={1}
        value={text}
        aria-describedby={hintId}
        onChange={(e) => change(e.target.value)}
        onPaste={(e) => {
          const imgs = [...e.clipboardData.files].filter((f) => f.type.startsWith("image/"));
          if (imgs.length) {
            e.preventDefault();
            const dt = new DataTransfer();
            for (const f of imgs) dt.items.add(f);
            void attach(dt.files);
          }
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <p id={hintId} className="sr-only">
        Enter sends, Shift+Enter starts a new line.
      </p>
      <div className="composer-bar">
        <ModelPicker value={model} onChange={onModel} />
        <input
          ref={file}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          multiple
          hidden
          aria-label="Attach images"
          onChange={(e) => {
            void attach(e.target.files);
            e.target.value = "";
          }}
        />
        <IconButton
          label="Attach images"
          icon={<AttachIcon />}
          onClick={() => file.current?.click()}
          disabled={attachments.length >= MAX_IMAGES}
        />
        <span className="composer-spacer" />
        {streaming ? (
          <Button variant="danger" onClick={onStop} aria-keyshortcuts="Escape">
            Stop
          </Button>
        ) : (
          <Button
            type="submit"
            variant="primary"
            disabled={!text.trim() || uploading > 0 || !model}
            aria-label="Send message"
          >
            Send
          </Button>
        )}
      </div>
    </form>
  );
});
