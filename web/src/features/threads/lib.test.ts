import { describe, expect, it } from "vitest";
import {
  exportFilename,
  filenameFromDisposition,
  fitsParams,
  groupThreads,
  parseServerDate,
  patchThreadList,
  type Thread,
  textOn,
} from "./lib";

function thread(id: number, last: string, extra: Partial<Thread> = {}): Thread {
  return {
    id,
    user_id: 1,
    title: `t${id}`,
    provider: null,
    model: null,
    category_id: null,
    is_pinned: false,
    is_archived: false,
    created_at: last,
    updated_at: last,
    last_message_at: last,
    category: null,
    message_count: 0,
    system_prompt: null,
    max_tokens: null,
    temperature: null,
    ...extra,
  };
}

describe("groupThreads", () => {
  const now = new Date(2026, 11, 4, 15, 0, 0);
  const iso = (d: Date) => d.toISOString();
  const daysAgo = (n: number) => iso(new Date(2026, 11, 4 - n, 10, 0, 0));

  it("puts pinned first, then buckets by last activity, newest first", () => {
    const rows = groupThreads(
      [
        thread(1, daysAgo(40)),
        thread(2, daysAgo(0)),
        thread(3, daysAgo(1)),
        thread(4, daysAgo(5), { is_pinned: true }),
        thread(5, daysAgo(20)),
        thread(6, daysAgo(0)),
      ],
      now,
    );
    const flat = rows.map((r) => (r.kind === "header" ? `#${r.label}` : r.thread.id));
    expect(flat).toEqual([
      "#Pinned",
      4,
      "#Today",
      2,
      6,
      "#Yesterday",
      3,
      "#Previous 30 days",
      5,
      "#October 2026",
      1,
    ]);
  });

  it("gives an empty list no headers", () => {
    expect(groupThreads([], now)).toEqual([]);
  });
});

describe("parseServerDate", () => {
  it("reads naive timestamps as UTC and keeps explicit zones", () => {
    expect(parseServerDate("2026-12-04T10:00:00").toISOString()).toBe("2026-12-04T10:00:00.000Z");
    expect(parseServerDate("2026-12-04T10:00:00+02:00").toISOString()).toBe(
      "2026-12-04T08:00:00.000Z",
    );
  });
});

describe("export file names", () => {
  it("prefers filename* (UTF-8) over filename", () => {
    const h = `attachment; filename="thread-3.md"; filename*=UTF-8''%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82.md`;
    expect(filenameFromDisposition(h, "x")).toBe("Привет.md");
  });
  it("reads a quoted or bare filename, else the fallback", () => {
    expect(filenameFromDisposition('attachment; filename="a b.json"', "x")).toBe("a b.json");
    expect(filenameFromDisposition("attachment; filename=a.md", "x")).toBe("a.md");
    expect(filenameFromDisposition(null, "fallback.md")).toBe("fallback.md");
    expect(filenameFromDisposition("inline", "fallback.md")).toBe("fallback.md");
  });
  it("slugs a title into a safe name", () => {
    expect(exportFilename("Hello, World! / ../etc", 7, "md")).toBe("hello-world-etc-7.md");
    expect(exportFilename("???", 8, "json")).toBe("thread-8.json");
    expect(exportFilename("Café déjà", 9, "md")).toBe("cafe-deja-9.md");
  });
});

describe("cache patches", () => {
  const list = [thread(1, "2026-12-01T00:00:00Z"), thread(2, "2026-12-02T00:00:00Z")];

  it("updates one thread and leaves the others alone", () => {
    const out = patchThreadList(list, 2, { title: "renamed" });
    expect(out?.map((t) => t.title)).toEqual(["t1", "renamed"]);
    expect(out?.[0]).toBe(list[0]);
  });

  it("drops a thread that no longer fits the list (archived out of the active view)", () => {
    const out = patchThreadList(list, 1, { is_archived: true }, (t) =>
      fitsParams(t, { is_archived: false }),
    );
    expect(out?.map((t) => t.id)).toEqual([2]);
  });

  it("removes on null and tolerates an empty cache", () => {
    expect(patchThreadList(list, 1, null)?.map((t) => t.id)).toEqual([2]);
    expect(patchThreadList(undefined, 1, null)).toBeUndefined();
  });

  it("checks the category filter", () => {
    expect(fitsParams(thread(1, "x", { category_id: 3 }), { category_id: 3 })).toBe(true);
    expect(fitsParams(thread(1, "x", { category_id: 4 }), { category_id: 3 })).toBe(false);
  });
});

describe("textOn", () => {
  it("picks dark text on light colours and light text on dark ones", () => {
    expect(textOn("#ffffff")).toBe("#111");
    expect(textOn("#fe0")).toBe("#111");
    expect(textOn("#1e293b")).toBe("#fff");
  });
});
