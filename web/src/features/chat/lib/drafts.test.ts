import { describe, expect, it } from "vitest";
import { createDraftStore, DRAFT_TTL_MS, draftKey } from "./drafts";

class MemoryStorage implements Storage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

describe("drafts", () => {
  it("keeps one draft per user and thread, separate from the new-chat draft", () => {
    const storage = new MemoryStorage();
    const d = createDraftStore(storage);
    d.save(1, 10, "hello");
    d.save(1, "new", "fresh");
    d.save(2, 10, "other user");
    expect(d.load(1, 10)).toBe("hello");
    expect(d.load(1, "new")).toBe("fresh");
    expect(d.load(2, 10)).toBe("other user");
    expect(d.load(1, 11)).toBe("");
    // a new store over the same storage = a reload, or a sign-in after sign-out
    expect(createDraftStore(storage).load(1, 10)).toBe("hello");
  });

  it("removes an emptied draft and moves the new-chat draft to its thread", () => {
    const storage = new MemoryStorage();
    const d = createDraftStore(storage);
    d.save(1, 5, "x");
    d.save(1, 5, "");
    expect(storage.getItem(draftKey(1, 5))).toBeNull();
    d.save(1, "new", "carry me");
    d.move(1, "new", 42);
    expect(d.load(1, "new")).toBe("");
    expect(d.load(1, 42)).toBe("carry me");
  });

  it("sweeps old and corrupt drafts only", () => {
    const storage = new MemoryStorage();
    let t = 0;
    const d = createDraftStore(storage, () => t);
    d.save(1, 1, "old");
    t = DRAFT_TTL_MS + 10;
    d.save(1, 2, "recent");
    storage.setItem("aihub.draft.1.3", "{not json");
    storage.setItem("aihub.token", "keep");
    d.sweep();
    expect(d.load(1, 1)).toBe("");
    expect(d.load(1, 2)).toBe("recent");
    expect(storage.getItem("aihub.draft.1.3")).toBeNull();
    expect(storage.getItem("aihub.token")).toBe("keep");
  });

  it("survives a storage that throws", () => {
    const broken = new MemoryStorage();
    broken.setItem = () => {
      throw new Error("QuotaExceededError");
    };
    const d = createDraftStore(broken);
    expect(() => d.save(1, 1, "x")).not.toThrow();
    expect(d.load(1, 1)).toBe("");
  });
});
