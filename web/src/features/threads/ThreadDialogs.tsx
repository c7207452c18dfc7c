import { type FormEvent, useEffect, useRef, useState } from "react";
import { Button } from "../../ui/Button";
import { ConfirmDialog } from "../../ui/ConfirmDialog";
import { Dialog } from "../../ui/Dialog";
import { Field } from "../../ui/Field";
import { toastError } from "../../ui/Toast";
import { useCategoryMutations } from "./api";
import type { Category, Thread } from "./lib";

export function RenameDialog({
  thread,
  onClose,
  onSave,
}: {
  thread: Thread | null;
  onClose: () => void;
  onSave: (id: number, title: string) => void;
}) {
  const [title, setTitle] = useState("");
  useEffect(() => setTitle(thread?.title ?? ""), [thread]);
  function submit(e: FormEvent) {
    e.preventDefault();
    if (!thread || !title.trim()) return;
    onSave(thread.id, title.trim());
    onClose();
  }
  return (
    <Dialog open={thread !== null} title="Rename thread" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <Field
          label="Title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          maxLength={255}
          required
          data-autofocus
          onFocus={(e) => e.currentTarget.select()}
        />
        <div className="row end">
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="primary">
            Save
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function DeleteDialog({
  target,
  busy,
  onClose,
  onConfirm,
}: {
  target: { ids: number[]; label: string } | null;
  busy: boolean;
  onClose: () => void;
  onConfirm: (ids: number[]) => void;
}) {
  const many = (target?.ids.length ?? 0) > 1;
  return (
    <ConfirmDialog
      open={target !== null}
      title={many ? "Delete threads" : "Delete thread"}
      message={`Delete ${many ? target?.label : `“${target?.label}”`} with all messages? This cannot be undone.`}
      confirmLabel="Delete"
      danger
      busy={busy}
      onClose={onClose}
      onConfirm={() => target && onConfirm(target.ids)}
    />
  );
}

export function MoveDialog({
  ids,
  categories,
  busy,
  onClose,
  onMove,
}: {
  ids: number[] | null;
  categories: Category[];
  busy: boolean;
  onClose: () => void;
  onMove: (ids: number[], categoryId: number | null) => void;
}) {
  const [choice, setChoice] = useState("");
  useEffect(() => {
    if (ids) setChoice("");
  }, [ids]);
  return (
    <Dialog
      open={ids !== null}
      title={ids && ids.length > 1 ? `Move ${ids.length} threads` : "Move thread"}
      onClose={onClose}
    >
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          if (ids) onMove(ids, choice ? Number(choice) : null);
        }}
      >
        <div className="field">
          <label htmlFor="move-category">Category</label>
          <select
            id="move-category"
            value={choice}
            onChange={(e) => setChoice(e.target.value)}
            data-autofocus
          >
            <option value="">No category</option>
            {categories.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        {!categories.length ? (
          <p className="muted">No categories yet: create one with “Manage categories”.</p>
        ) : null}
        <div className="row end">
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={busy}>
            Move
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

const PALETTE = [
  "#4f46e5",
  "#0ea5e9",
  "#10b981",
  "#f59e0b",
  "#ef4444",
  "#ec4899",
  "#8b5cf6",
  "#64748b",
];

export function CategoriesDialog({
  open,
  categories,
  onClose,
}: {
  open: boolean;
  categories: Category[];
  onClose: () => void;
}) {
  const { create, update, remove } = useCategoryMutations();
  const [name, setName] = useState("");
  const [color, setColor] = useState(PALETTE[0] ?? "#4f46e5");

  async function add(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return;
    try {
      await create.mutateAsync({ name: name.trim(), color });
      setName("");
      setColor(PALETTE[(categories.length + 1) % PALETTE.length] ?? "#4f46e5");
    } catch (err) {
      toastError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <Dialog open={open} title="Categories" onClose={onClose}>
      <ul className="cat-list">
        {categories.map((c) => (
          <CategoryRow
            key={c.id}
            category={c}
            onSave={(body) =>
              update.mutateAsync({ id: c.id, body }).catch((err: Error) => toastError(err.message))
            }
            onDelete={() => remove.mutateAsync(c.id).catch((err: Error) => toastError(err.message))}
          />
        ))}
        {!categories.length ? <li className="muted">No categories yet.</li> : null}
      </ul>
      <form className="row cat-new" onSubmit={add}>
        <input
          type="color"
          aria-label="New category colour"
          value={color}
          onChange={(e) => setColor(e.target.value)}
        />
        <input
          aria-label="New category name"
          placeholder="New category"
          value={name}
          maxLength={100}
          onChange={(e) => setName(e.target.value)}
        />
        <Button type="submit" variant="primary" busy={create.isPending}>
          Add
        </Button>
      </form>
    </Dialog>
  );
}

function CategoryRow({
  category,
  onSave,
  onDelete,
}: {
  category: Category;
  onSave: (body: { name?: string; color?: string }) => void;
  onDelete: () => void;
}) {
  const [name, setName] = useState(category.name);
  const [color, setColor] = useState(category.color ?? "#64748b");
  useEffect(() => setName(category.name), [category.name]);
  useEffect(() => setColor(category.color ?? "#64748b"), [category.color]);
  const save = useRef(onSave);
  save.current = onSave;
  // The picker fires while dragging: save once it rests.
  useEffect(() => {
    if (color === (category.color ?? "#64748b")) return;
    const t = setTimeout(() => save.current({ color }), 400);
    return () => clearTimeout(t);
  }, [color, category.color]);
  return (
    <li className="row">
      <input
        type="color"
        aria-label={`Colour of ${category.name}`}
        value={color}
        onChange={(e) => setColor(e.target.value)}
      />
      <input
        aria-label={`Name of category ${category.name}`}
        value={name}
        maxLength={100}
        onChange={(e) => setName(e.target.value)}
        onBlur={() => name.trim() && name !== category.name && onSave({ name: name.trim() })}
      />
      <Button variant="ghost" aria-label={`Delete category ${category.name}`} onClick={onDelete}>
        Delete
      </Button>
    </li>
  );
}
