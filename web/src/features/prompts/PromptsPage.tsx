/**
 * The prompt library: create, edit, favourite, delete; "Use" fills the
 * prompt's {variables} in a form, renders it on the server and hands the text
 * to the chat composer (useUi.composerPrefill), then opens a new chat.
 */
import "./prompts.css";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useNavigate } from "react-router";
import { useUi } from "../../store/ui";
import { Button, IconButton } from "../../ui/Button";
import { ConfirmDialog } from "../../ui/ConfirmDialog";
import { Dialog } from "../../ui/Dialog";
import { EmptyState } from "../../ui/EmptyState";
import { Field, TextArea } from "../../ui/Field";
import { PlusIcon, SearchIcon, StarIcon } from "../../ui/icons";
import { Spinner } from "../../ui/Spinner";
import { toast, toastError } from "../../ui/Toast";
import { useCategories } from "../threads/api";
import { type Prompt, renderPrompt, usePromptMutations, usePrompts } from "./api";
import { extractVariables, renderTemplate, variableLabel } from "./template";

export default function PromptsPage() {
  const [search, setSearch] = useState("");
  const [q, setQ] = useState("");
  const [favOnly, setFavOnly] = useState(false);
  const [editing, setEditing] = useState<Prompt | "new" | null>(null);
  const [using, setUsing] = useState<Prompt | null>(null);
  const [deleting, setDeleting] = useState<Prompt | null>(null);
  const navigate = useNavigate();
  const setPrefill = useUi((s) => s.setComposerPrefill);

  useEffect(() => {
    const t = setTimeout(() => setQ(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);

  const prompts = usePrompts({
    ...(q ? { search: q } : {}),
    ...(favOnly ? { is_favorite: true } : {}),
  });
  const { update, remove } = usePromptMutations();
  const list = prompts.data ?? [];

  function sendToChat(text: string) {
    setPrefill(text);
    navigate("/");
  }

  function onUse(p: Prompt) {
    if (p.variables.length) setUsing(p);
    else
      renderPrompt(p.id, {})
        .then(sendToChat)
        .catch((err: Error) => toastError(err.message));
  }

  return (
    <section className="page prompts" aria-labelledby="prompts-title">
      <div className="page-head">
        <h1 id="prompts-title">Prompts</h1>
        <Button variant="primary" onClick={() => setEditing("new")}>
          <PlusIcon /> New prompt
        </Button>
      </div>
      <div className="row prompts-tools">
        <div className="search-box grow">
          <span className="search-icon" aria-hidden="true">
            <SearchIcon />
          </span>
          <input
            type="search"
            aria-label="Search prompts"
            placeholder="Search prompts"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <button
          type="button"
          className="chip"
          aria-pressed={favOnly}
          onClick={() => setFavOnly((f) => !f)}
        >
          <StarIcon filled={favOnly} /> Favourites only
        </button>
      </div>

      {prompts.isLoading ? (
        <Spinner label="Loading prompts" />
      ) : prompts.isError ? (
        <p role="alert" className="form-error">
          Could not load prompts: {prompts.error.message}
        </p>
      ) : !list.length ? (
        <EmptyState
          title={q || favOnly ? "No prompt matches" : "No prompts yet"}
          action={
            q || favOnly ? null : (
              <Button variant="primary" onClick={() => setEditing("new")}>
                Create your first prompt
              </Button>
            )
          }
        >
          <p>
            Save the instructions you type again and again. Put {"{variables}"} in braces and fill
            them in a form each time you use the prompt.
          </p>
        </EmptyState>
      ) : (
        <ul className="prompt-grid" aria-label="Prompt library">
          {list.map((p) => (
            <li key={p.id} className="prompt-card">
              <div className="prompt-card-head">
                <h2 className="prompt-title">{p.title}</h2>
                <IconButton
                  label={p.is_favorite ? `Unfavourite ${p.title}` : `Favourite ${p.title}`}
                  pressed={p.is_favorite}
                  icon={<StarIcon filled={p.is_favorite} />}
                  onClick={() =>
                    update
                      .mutateAsync({ id: p.id, body: { is_favorite: !p.is_favorite } })
                      .catch((err: Error) => toastError(err.message))
                  }
                />
              </div>
              {p.description ? <p className="prompt-desc">{p.description}</p> : null}
              <p className="prompt-body">{p.content}</p>
              {p.variables.length ? (
                <p className="prompt-vars">
                  <span className="sr-only">Variables: </span>
                  {p.variables.map((v) => (
                    <code key={v}>{`{${v}}`}</code>
                  ))}
                </p>
              ) : null}
              <div className="row prompt-actions">
                <Button variant="primary" onClick={() => onUse(p)} aria-label={`Use ${p.title}`}>
                  Use
                </Button>
                <Button
                  variant="ghost"
                  onClick={() => setEditing(p)}
                  aria-label={`Edit ${p.title}`}
                >
                  Edit
                </Button>
                <Button
                  variant="ghost"
                  onClick={() => setDeleting(p)}
                  aria-label={`Delete ${p.title}`}
                >
                  Delete
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}

      <PromptEditor prompt={editing} onClose={() => setEditing(null)} />
      <UsePromptDialog
        key={using?.id ?? 0}
        prompt={using}
        onClose={() => setUsing(null)}
        onUse={sendToChat}
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete prompt"
        message={`Delete “${deleting?.title}”? This cannot be undone.`}
        confirmLabel="Delete"
        danger
        busy={remove.isPending}
        onClose={() => setDeleting(null)}
        onConfirm={() =>
          deleting &&
          remove
            .mutateAsync(deleting.id)
            .then(() => toast("Prompt deleted"))
            .catch((err: Error) => toastError(err.message))
            .finally(() => setDeleting(null))
        }
      />
    </section>
  );
}

function PromptEditor({ prompt, onClose }: { prompt: Prompt | "new" | null; onClose: () => void }) {
  const existing = prompt && prompt !== "new" ? prompt : null;
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [content, setContent] = useState("");
  const [categoryId, setCategoryId] = useState("");
  const [favorite, setFavorite] = useState(false);
  const categories = useCategories();
  const { create, update } = usePromptMutations();
  const vars = useMemo(() => extractVariables(content), [content]);

  useEffect(() => {
    setTitle(existing?.title ?? "");
    setDescription(existing?.description ?? "");
    setContent(existing?.content ?? "");
    setCategoryId(existing?.category_id ? String(existing.category_id) : "");
    setFavorite(existing?.is_favorite ?? false);
  }, [existing]);

  async function save(e: FormEvent) {
    e.preventDefault();
    const body = {
      title: title.trim(),
      content,
      description: description.trim() || null,
      category_id: categoryId ? Number(categoryId) : null,
      is_favorite: favorite,
    };
    try {
      if (existing) await update.mutateAsync({ id: existing.id, body });
      else await create.mutateAsync(body);
      toast(existing ? "Prompt saved" : "Prompt created");
      onClose();
    } catch (err) {
      toastError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <Dialog
      open={prompt !== null}
      title={existing ? "Edit prompt" : "New prompt"}
      onClose={onClose}
      className="wide"
    >
      <form className="stack" onSubmit={save}>
        <Field
          label="Title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          required
          maxLength={255}
          data-autofocus
        />
        <Field
          label="Description (optional)"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          maxLength={1000}
        />
        <TextArea
          label="Prompt"
          value={content}
          onChange={(e) => setContent(e.target.value)}
          required
          rows={8}
          hint={
            vars.length
              ? `Variables: ${vars.map((v) => `{${v}}`).join(", ")}. They are filled in a form each time.`
              : "Write {name} for a variable to fill in each time; {{ and }} for literal braces."
          }
        />
        <div className="row wrap">
          <div className="field grow">
            <label htmlFor="prompt-category">Category</label>
            <select
              id="prompt-category"
              value={categoryId}
              onChange={(e) => setCategoryId(e.target.value)}
            >
              <option value="">No category</option>
              {(categories.data ?? []).map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </div>
          <label className="check">
            <input
              type="checkbox"
              checked={favorite}
              onChange={(e) => setFavorite(e.target.checked)}
            />
            Favourite
          </label>
        </div>
        <div className="row end">
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={create.isPending || update.isPending}>
            {existing ? "Save prompt" : "Create prompt"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function UsePromptDialog({
  prompt,
  onClose,
  onUse,
}: {
  prompt: Prompt | null;
  onClose: () => void;
  onUse: (text: string) => void;
}) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!prompt) return null;
  const preview = renderTemplate(prompt.content, values);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!prompt) return;
    if (preview.missing.length) {
      setError(`Fill in: ${preview.missing.map(variableLabel).join(", ")}`);
      return;
    }
    setBusy(true);
    try {
      const text = await renderPrompt(prompt.id, values);
      onClose();
      onUse(text);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog
      open
      title={`Use “${prompt.title}”`}
      description="Fill in the variables."
      onClose={onClose}
      className="wide"
    >
      <form className="stack" onSubmit={submit}>
        {prompt.variables.map((v, i) => (
          <TextArea
            key={v}
            label={variableLabel(v)}
            name={v}
            rows={1}
            className="var-field"
            value={values[v] ?? ""}
            onChange={(e) => setValues((s) => ({ ...s, [v]: e.target.value }))}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) {
                e.preventDefault();
                e.currentTarget.form?.requestSubmit();
              }
            }}
            {...(i === 0 ? { "data-autofocus": true } : {})}
          />
        ))}
        <div>
          <p className="muted preview-label">Preview</p>
          <div className="prompt-preview">{preview.text}</div>
        </div>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="row end">
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={busy}>
            Use in chat
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
