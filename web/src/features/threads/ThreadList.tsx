/**
 * The sidebar's thread list: search (titles and message text, server side),
 * category filter, archived view, per-thread menu, multi-select with bulk
 * actions. Virtualised: only the rows in view are in the DOM. Keyboard:
 * ArrowUp/ArrowDown/Home/End move between threads, F2 renames, Delete deletes.
 */
import "./threads.css";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useMemo, useRef, useState } from "react";
import { NavLink, useMatch, useNavigate } from "react-router";
import { useUi } from "../../store/ui";
import { Button } from "../../ui/Button";
import { DotsIcon, PinIcon, SearchIcon } from "../../ui/icons";
import { Menu } from "../../ui/Menu";
import { Spinner } from "../../ui/Spinner";
import { toast, toastError } from "../../ui/Toast";
import {
  downloadThread,
  useArchiveThreads,
  useCategories,
  useDeleteThreads,
  useMoveThreads,
  useThreads,
  useUnarchiveThreads,
  useUpdateThread,
} from "./api";
import { type Category, groupThreads, type ListParams, type Thread } from "./lib";
import { CategoriesDialog, DeleteDialog, MoveDialog, RenameDialog } from "./ThreadDialogs";

type Pending =
  | { kind: "rename"; thread: Thread }
  | { kind: "delete"; ids: number[]; label: string }
  | { kind: "move"; ids: number[] }
  | { kind: "categories" }
  | null;

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function ThreadList() {
  const [search, setSearch] = useState("");
  const [archived, setArchived] = useState(false);
  const [categoryId, setCategoryId] = useState<number | undefined>(undefined);
  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [pending, setPending] = useState<Pending>(null);
  const q = useDebounced(search.trim(), 250);
  const params: ListParams = {
    is_archived: archived,
    limit: 1000,
    ...(q ? { search: q } : {}),
    ...(categoryId !== undefined ? { category_id: categoryId } : {}),
  };
  const threads = useThreads(params);
  const categories = useCategories();
  const update = useUpdateThread();
  const del = useDeleteThreads();
  const archive = useArchiveThreads();
  const unarchive = useUnarchiveThreads();
  const move = useMoveThreads();
  const navigate = useNavigate();
  const match = useMatch("/c/:threadId");
  const activeId = match?.params.threadId ? Number(match.params.threadId) : null;

  const searchRef = useRef<HTMLInputElement>(null);
  const searchTick = useUi((s) => s.searchFocusTick);
  useEffect(() => {
    if (searchTick) searchRef.current?.focus();
  }, [searchTick]);

  const list = threads.data ?? [];
  // Bulk actions only ever touch threads on screen: drop the ones a new
  // filter or search hid.
  useEffect(() => {
    setSelected((sel) => {
      if (!sel.size) return sel;
      const shown = new Set((threads.data ?? []).map((t) => t.id));
      const kept = [...sel].filter((id) => shown.has(id));
      return kept.length === sel.size ? sel : new Set(kept);
    });
  }, [threads.data]);
  const rows = useMemo(() => groupThreads(list), [list]);
  const catById = useMemo(
    () => new Map((categories.data ?? []).map((c) => [c.id, c] as const)),
    [categories.data],
  );

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rows[i]?.kind === "header" ? 30 : 38),
    overscan: 12,
    getItemKey: (i) => rows[i]?.key ?? i,
  });

  const threadIndexes = useMemo(
    () => rows.flatMap((r, i) => (r.kind === "thread" ? [i] : [])),
    [rows],
  );

  // Opening a thread from elsewhere (a link, a fork, a new chat) brings its row into view.
  // (Once per thread opened: a reorder while the user browses the list never scrolls it.)
  const activeIndex = rows.findIndex((r) => r.kind === "thread" && r.thread.id === activeId);
  const scrolledFor = useRef<number | null>(null);
  useEffect(() => {
    if (activeIndex < 0 || scrolledFor.current === activeId) return;
    scrolledFor.current = activeId;
    virtual.scrollToIndex(activeIndex, { align: "auto" });
  }, [activeIndex, activeId, virtual]);

  function focusRow(rowIndex: number) {
    virtual.scrollToIndex(rowIndex, { align: "auto" });
    const tryFocus = (n: number) => {
      const el = scrollRef.current?.querySelector<HTMLElement>(
        `[data-row="${rowIndex}"] .thread-link`,
      );
      if (el) el.focus();
      else if (n > 0) requestAnimationFrame(() => tryFocus(n - 1));
    };
    tryFocus(5);
  }

  function onListKey(e: React.KeyboardEvent) {
    const target = e.target as HTMLElement;
    if (!target.classList.contains("thread-link")) return;
    const rowIndex = Number(target.closest<HTMLElement>("[data-row]")?.dataset.row);
    const pos = threadIndexes.indexOf(rowIndex);
    const row = rows[rowIndex];
    let next: number | undefined;
    if (e.key === "ArrowDown") next = threadIndexes[Math.min(pos + 1, threadIndexes.length - 1)];
    else if (e.key === "ArrowUp") next = threadIndexes[Math.max(pos - 1, 0)];
    else if (e.key === "Home") next = threadIndexes[0];
    else if (e.key === "End") next = threadIndexes[threadIndexes.length - 1];
    else if (row?.kind === "thread" && e.key === "F2") {
      e.preventDefault();
      setPending({ kind: "rename", thread: row.thread });
      return;
    } else if (row?.kind === "thread" && e.key === "Delete") {
      e.preventDefault();
      setPending({ kind: "delete", ids: [row.thread.id], label: row.thread.title });
      return;
    } else return;
    e.preventDefault();
    if (next !== undefined) focusRow(next);
  }

  function toggleSelected(id: number) {
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  }

  function endSelecting() {
    setSelecting(false);
    setSelected(new Set());
  }

  async function run(p: Promise<unknown>, done: string) {
    try {
      await p;
      toast(done);
    } catch (err) {
      toastError(err instanceof Error ? err.message : String(err));
    }
  }

  function actions(t: Thread) {
    return [
      { label: "Rename", onSelect: () => setPending({ kind: "rename", thread: t }) },
      {
        label: t.is_pinned ? "Unpin" : "Pin",
        onSelect: () =>
          run(
            update.mutateAsync({ id: t.id, patch: { is_pinned: !t.is_pinned } }),
            t.is_pinned ? "Thread unpinned" : "Thread pinned",
          ),
      },
      {
        label: t.is_archived ? "Unarchive" : "Archive",
        onSelect: () =>
          run(
            update.mutateAsync({ id: t.id, patch: { is_archived: !t.is_archived } }),
            t.is_archived ? "Thread restored" : "Thread archived",
          ),
      },
      { label: "Move to category…", onSelect: () => setPending({ kind: "move", ids: [t.id] }) },
      { label: "Export as Markdown", onSelect: () => run(downloadThread(t, "md"), "Exported") },
      { label: "Export as JSON", onSelect: () => run(downloadThread(t, "json"), "Exported") },
      {
        label: "Delete",
        danger: true,
        onSelect: () => setPending({ kind: "delete", ids: [t.id], label: t.title }),
      },
    ];
  }

  const ids = [...selected];
  const cats = categories.data ?? [];

  return (
    <section className="threads" aria-label="Threads">
      <div className="threads-tools">
        <div className="search-box">
          <span className="search-icon" aria-hidden="true">
            <SearchIcon />
          </span>
          <input
            ref={searchRef}
            type="search"
            aria-label="Search threads"
            placeholder="Search titles and messages"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape" && search) {
                e.preventDefault();
                setSearch("");
              } else if (e.key === "ArrowDown" && threadIndexes.length) {
                e.preventDefault();
                focusRow(threadIndexes[0] ?? 0);
              }
            }}
          />
        </div>
        <fieldset className="chips">
          <legend className="sr-only">Filter threads</legend>
          <button
            type="button"
            className="chip"
            aria-pressed={categoryId === undefined && !archived}
            onClick={() => {
              setCategoryId(undefined);
              setArchived(false);
            }}
          >
            All
          </button>
          {cats.map((c) => (
            <button
              key={c.id}
              type="button"
              className="chip"
              aria-pressed={categoryId === c.id}
              onClick={() => setCategoryId(categoryId === c.id ? undefined : c.id)}
            >
              <CategoryDot category={c} />
              {c.name}
            </button>
          ))}
          <button
            type="button"
            className="chip"
            aria-pressed={archived}
            onClick={() => setArchived((a) => !a)}
          >
            Archived
          </button>
          <button
            type="button"
            className="chip chip-ghost"
            onClick={() => setPending({ kind: "categories" })}
          >
            Manage categories
          </button>
        </fieldset>
        <div className="row threads-select">
          {selecting ? (
            <>
              <span className="muted grow" aria-live="polite">
                {selected.size} selected
              </span>
              <Button
                variant="ghost"
                onClick={() =>
                  setSelected(
                    selected.size === list.length ? new Set() : new Set(list.map((t) => t.id)),
                  )
                }
              >
                {selected.size === list.length && list.length ? "Select none" : "Select all"}
              </Button>
              <Button variant="ghost" onClick={endSelecting}>
                Done
              </Button>
            </>
          ) : (
            <Button variant="ghost" onClick={() => setSelecting(true)} disabled={!list.length}>
              Select threads
            </Button>
          )}
        </div>
      </div>

      {/* biome-ignore lint/a11y/noStaticElementInteractions: arrow keys are delegated from the focusable thread links inside */}
      <div
        ref={scrollRef}
        className="threads-scroll"
        onKeyDown={onListKey}
        aria-busy={threads.isFetching || undefined}
      >
        {threads.isLoading ? (
          <div className="threads-empty">
            <Spinner label="Loading threads" />
          </div>
        ) : threads.isError ? (
          <p className="threads-empty" role="alert">
            Could not load threads: {threads.error.message}
          </p>
        ) : !rows.length ? (
          <p className="threads-empty muted">
            {q
              ? `No threads match “${q}”.`
              : archived
                ? "No archived threads."
                : categoryId !== undefined
                  ? "No threads in this category."
                  : "No threads yet: start a chat."}
          </p>
        ) : (
          <ul
            className="thread-rows"
            style={{ height: virtual.getTotalSize() }}
            aria-label="Thread list"
          >
            {virtual.getVirtualItems().map((v) => {
              const row = rows[v.index];
              if (!row) return null;
              const style = { transform: `translateY(${v.start}px)` };
              if (row.kind === "header") {
                return (
                  <li
                    key={v.key}
                    data-index={v.index}
                    ref={virtual.measureElement}
                    className="thread-group"
                    style={style}
                  >
                    {row.label}
                  </li>
                );
              }
              const t = row.thread;
              const cat = t.category_id ? catById.get(t.category_id) : undefined;
              return (
                <li
                  key={v.key}
                  data-index={v.index}
                  data-row={v.index}
                  ref={virtual.measureElement}
                  className={`thread-row${t.id === activeId ? " active" : ""}`}
                  style={style}
                >
                  {selecting ? (
                    <input
                      type="checkbox"
                      aria-label={`Select ${t.title}`}
                      checked={selected.has(t.id)}
                      onChange={() => toggleSelected(t.id)}
                    />
                  ) : null}
                  <NavLink
                    to={`/c/${t.id}`}
                    className="thread-link"
                    title={t.title}
                    onClick={(e) => {
                      if (selecting) {
                        e.preventDefault();
                        toggleSelected(t.id);
                      }
                    }}
                  >
                    {cat ? <CategoryDot category={cat} /> : null}
                    <span className="thread-title">{t.title || "Untitled"}</span>
                    {t.is_pinned ? (
                      <span className="pin" title="Pinned">
                        <PinIcon />
                        <span className="sr-only">(pinned)</span>
                      </span>
                    ) : null}
                  </NavLink>
                  <Menu label={`Actions for ${t.title}`} icon={<DotsIcon />} items={actions(t)} />
                </li>
              );
            })}
          </ul>
        )}
      </div>

      {selecting && selected.size ? (
        <div className="bulk-bar" role="toolbar" aria-label="Bulk actions">
          {archived ? (
            <Button
              onClick={() =>
                run(
                  unarchive.mutateAsync(ids).then(endSelecting),
                  `${ids.length} thread${ids.length > 1 ? "s" : ""} restored`,
                )
              }
            >
              Unarchive
            </Button>
          ) : (
            <Button
              onClick={() =>
                run(
                  archive.mutateAsync(ids).then(endSelecting),
                  `${ids.length} thread${ids.length > 1 ? "s" : ""} archived`,
                )
              }
            >
              Archive
            </Button>
          )}
          <Button onClick={() => setPending({ kind: "move", ids })}>Move…</Button>
          <Button
            variant="danger"
            onClick={() => setPending({ kind: "delete", ids, label: `${ids.length} threads` })}
          >
            Delete
          </Button>
        </div>
      ) : null}

      <RenameDialog
        thread={pending?.kind === "rename" ? pending.thread : null}
        onClose={() => setPending(null)}
        onSave={(id, title) => run(update.mutateAsync({ id, patch: { title } }), "Thread renamed")}
      />
      <DeleteDialog
        target={pending?.kind === "delete" ? pending : null}
        busy={del.isPending}
        onClose={() => setPending(null)}
        onConfirm={async (dids) => {
          await run(
            del.mutateAsync(dids),
            dids.length > 1 ? `${dids.length} threads deleted` : "Thread deleted",
          );
          setPending(null);
          endSelecting();
          if (activeId !== null && dids.includes(activeId)) navigate("/");
        }}
      />
      <MoveDialog
        ids={pending?.kind === "move" ? pending.ids : null}
        categories={cats}
        busy={move.isPending}
        onClose={() => setPending(null)}
        onMove={async (mids, cid) => {
          await run(move.mutateAsync({ ids: mids, categoryId: cid }), "Moved");
          setPending(null);
          endSelecting();
        }}
      />
      <CategoriesDialog
        open={pending?.kind === "categories"}
        categories={cats}
        onClose={() => setPending(null)}
      />
      {list.length >= params.limit ? (
        <p className="muted threads-more">
          Showing the {params.limit} most recent threads: search to find older ones.
        </p>
      ) : null}
      <span className="sr-only" aria-live="polite">
        {threads.isSuccess && q ? `${list.length} threads found` : ""}
      </span>
    </section>
  );
}

export function CategoryDot({ category }: { category: Pick<Category, "color" | "name"> }) {
  return (
    <span
      className="cat-dot"
      style={{ background: category.color ?? "var(--fg-faint)" }}
      aria-hidden="true"
    />
  );
}
