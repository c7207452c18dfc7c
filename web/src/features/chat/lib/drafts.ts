/**
 * Drafts per thread in localStorage, written on every keystroke: they survive
 * a reload, a crash, an expired session and sign-out (the key holds the user
 * id, not the token, so the next sign-in of the same user finds them). The new
 * chat has its own draft ("new").
 */

const PREFIX = "aihub.draft.";
/** Drafts older than this are dropped when the store is swept. */
export const DRAFT_TTL_MS = 30 * 24 * 3600 * 1000;

export type DraftKey = number | "new";

interface Stored {
  text: string;
  at: number;
}

export interface DraftStore {
  load(user: number | string, thread: DraftKey): string;
  save(user: number | string, thread: DraftKey, text: string): void;
  clear(user: number | string, thread: DraftKey): void;
  /** Moves the new-chat draft to the thread it created. */
  move(user: number | string, from: DraftKey, to: DraftKey): void;
  sweep(): void;
}

export const draftKey = (user: number | string, thread: DraftKey): string =>
  `${PREFIX}${user}.${thread}`;

export function createDraftStore(
  storage: Storage | null = typeof localStorage === "undefined" ? null : localStorage,
  now: () => number = Date.now,
): DraftStore {
  const read = (key: string): Stored | null => {
    try {
      const raw = storage?.getItem(key);
      if (!raw) return null;
      const v = JSON.parse(raw) as Partial<Stored>;
      return typeof v.text === "string" ? { text: v.text, at: Number(v.at) || 0 } : null;
    } catch {
      return null;
    }
  };
  const store: DraftStore = {
    load(user, thread) {
      return read(draftKey(user, thread))?.text ?? "";
    },
    save(user, thread, text) {
      const key = draftKey(user, thread);
      try {
        if (text === "") storage?.removeItem(key);
        else storage?.setItem(key, JSON.stringify({ text, at: now() }));
      } catch {
        // storage full or disabled: the draft lives in memory only
      }
    },
    clear(user, thread) {
      try {
        storage?.removeItem(draftKey(user, thread));
      } catch {
        // ignore
      }
    },
    move(user, from, to) {
      const text = store.load(user, from);
      store.clear(user, from);
      if (text) store.save(user, to, text);
    },
    sweep() {
      if (!storage) return;
      const old: string[] = [];
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i);
        if (!key?.startsWith(PREFIX)) continue;
        const v = read(key);
        if (!v || now() - v.at > DRAFT_TTL_MS) old.push(key);
      }
      for (const key of old) storage.removeItem(key);
    },
  };
  return store;
}

export const drafts = createDraftStore();
