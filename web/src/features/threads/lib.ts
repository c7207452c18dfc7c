/** Pure logic of the thread list (grouping, filenames, cache patches); tested in lib.test.ts. */
import type { Schemas } from "../../api/client";

export type Thread = Schemas["ThreadRead"];
export type Category = Schemas["CategoryRead"];

export type Row =
  | { kind: "header"; key: string; label: string }
  | { kind: "thread"; key: string; thread: Thread };

const DAY = 86_400_000;

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Server timestamps are UTC, sometimes without a zone suffix. */
export function parseServerDate(s: string): Date {
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
}

/**
 * Rows for the virtual list: pinned threads first, then buckets by the last
 * activity (Today, Yesterday, Previous 7 days, Previous 30 days, then months).
 * Keeps the server's order inside each group.
 */
export function groupThreads(threads: Thread[], now: Date = new Date()): Row[] {
  const today = startOfDay(now);
  const rows: Row[] = [];
  let current = "";
  const push = (label: string) => {
    if (label !== current) {
      current = label;
      rows.push({ kind: "header", key: `h:${label}`, label });
    }
  };
  const pinned = threads.filter((t) => t.is_pinned);
  const rest = threads.filter((t) => !t.is_pinned);
  for (const t of pinned) {
    push("Pinned");
    rows.push({ kind: "thread", key: `t:${t.id}`, thread: t });
  }
  const sorted = [...rest].sort(
    (a, b) =>
      parseServerDate(b.last_message_at).getTime() - parseServerDate(a.last_message_at).getTime(),
  );
  for (const t of sorted) {
    const at = parseServerDate(t.last_message_at);
    const day = startOfDay(at);
    let label: string;
    if (day >= today) label = "Today";
    else if (day >= today - DAY) label = "Yesterday";
    else if (day >= today - 7 * DAY) label = "Previous 7 days";
    else if (day >= today - 30 * DAY) label = "Previous 30 days";
    else label = at.toLocaleString("en", { month: "long", year: "numeric" });
    push(label);
    rows.push({ kind: "thread", key: `t:${t.id}`, thread: t });
  }
  return rows;
}

/** The file name in a Content-Disposition header (RFC 6266, filename* first). */
export function filenameFromDisposition(header: string | null, fallback: string): string {
  if (!header) return fallback;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star?.[2]) {
    try {
      return decodeURIComponent(star[2].trim().replace(/^"|"$/g, ""));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(header);
  const name = plain?.[2] ?? plain?.[1];
  return name ? name.trim() : fallback;
}

/** A safe file name for a thread export when the server gives none. */
export function exportFilename(title: string, id: number, format: "md" | "json"): string {
  const slug =
    title
      .toLowerCase()
      .normalize("NFKD")
      .replace(/\p{M}+/gu, "")
      .replace(/[^\p{L}\p{N}]+/gu, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60) || "thread";
  return `${slug}-${id}.${format}`;
}

/** Apply a change to one thread inside a cached list; drops it if it no longer fits the list. */
export function patchThreadList(
  list: Thread[] | undefined,
  id: number,
  patch: Partial<Thread> | null,
  fits: (t: Thread) => boolean = () => true,
): Thread[] | undefined {
  if (!list) return list;
  if (patch === null) return list.filter((t) => t.id !== id);
  return list.flatMap((t) => {
    if (t.id !== id) return [t];
    const next = { ...t, ...patch };
    return fits(next) ? [next] : [];
  });
}

export type ListParams = {
  search?: string;
  is_archived: boolean;
  category_id?: number;
  limit: number;
};

/** Does a thread belong in the list fetched with these params (ignoring search)? */
export function fitsParams(t: Thread, p: Partial<ListParams>): boolean {
  if (p.is_archived !== undefined && t.is_archived !== p.is_archived) return false;
  if (p.category_id !== undefined && t.category_id !== p.category_id) return false;
  return true;
}

/** Readable text on a category colour: black or white by luminance. */
export function textOn(hex: string): string {
  const h = hex.replace("#", "");
  const full = h.length === 3 ? h.replace(/./g, (c) => c + c) : h;
  const n = Number.parseInt(full, 16);
  if (Number.isNaN(n)) return "inherit";
  const r = (n >> 16) & 255;
  const g = (n >> 8) & 255;
  const b = n & 255;
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#111" : "#fff";
}
