import { describe, expect, it } from "vitest";
import {
  branchMap,
  indexTree,
  newestLeaf,
  pathTo,
  siblingsOf,
  type TreeMessage,
  threadCost,
} from "./tree";

const m = (
  id: number,
  parent_id: number | null,
  role: string,
  extra: Partial<TreeMessage> = {},
): TreeMessage => ({
  id,
  parent_id,
  role,
  model: role === "assistant" ? "gpt-x" : null,
  provider: role === "assistant" ? "openai" : null,
  status: "complete",
  meta_data: {},
  ...extra,
});

// 1 user
// ├─ 2 assistant (gpt-x, $0.01)
// │   └─ 3 user ─ 4 assistant ($0.02)
// ├─ 5 assistant (regenerated with claude, $0.05)
// └─ 8 assistant ($0.001)
// 3's sibling by edit: 6 user ─ 7 assistant
const tree = [
  m(1, null, "user"),
  m(2, 1, "assistant", { meta_data: { cost: 0.01 } }),
  m(3, 2, "user"),
  m(4, 3, "assistant", { meta_data: { cost: 0.02 } }),
  m(5, 1, "assistant", { model: "claude", provider: "anthropic", meta_data: { cost: 0.05 } }),
  m(6, 2, "user"),
  m(7, 6, "assistant", { meta_data: { cost: 0.003 } }),
  m(8, 1, "assistant", { meta_data: { cost: 0.001 } }),
];

describe("tree", () => {
  const idx = indexTree([...tree].reverse());

  it("walks the active path from the leaf to the root", () => {
    expect(pathTo(idx, 4).map((x) => x.id)).toEqual([1, 2, 3, 4]);
    expect(pathTo(idx, 7).map((x) => x.id)).toEqual([1, 2, 6, 7]);
    expect(pathTo(idx, null)).toEqual([]);
    expect(pathTo(idx, 99)).toEqual([]);
  });

  it("says n of m with neighbours", () => {
    expect(siblingsOf(idx, 2)).toEqual({ index: 1, count: 3, prevId: null, nextId: 5 });
    expect(siblingsOf(idx, 5)).toEqual({ index: 2, count: 3, prevId: 2, nextId: 8 });
    expect(siblingsOf(idx, 8)).toEqual({ index: 3, count: 3, prevId: 5, nextId: null });
    expect(siblingsOf(idx, 6)).toEqual({ index: 2, count: 2, prevId: 3, nextId: null });
    expect(siblingsOf(idx, 1)).toEqual({ index: 1, count: 1, prevId: null, nextId: null });
  });

  it("finds the leaf the server activates (newest child at each step)", () => {
    expect(newestLeaf(idx, 2)).toBe(7);
    expect(newestLeaf(idx, 1)).toBe(8);
    expect(newestLeaf(idx, 3)).toBe(4);
    expect(newestLeaf(idx, 8)).toBe(8);
  });

  it("maps branch points with each branch's models, cost and the active one", () => {
    const map = branchMap(idx, 4);
    expect(map.map((p) => p.parentId)).toEqual([1, 2]);
    const first = map[0];
    expect(first?.depth).toBe(1);
    expect(first?.branches.map((b) => [b.startId, b.leafId, b.active, b.models])).toEqual([
      [2, 7, true, ["gpt-x"]],
      [5, 5, false, ["claude"]],
      [8, 8, false, ["gpt-x"]],
    ]);
    expect(first?.branches[0]?.cost).toBeCloseTo(0.013);
    expect(first?.branches[0]?.length).toBe(3);
    const second = map[1];
    expect(second?.depth).toBe(2);
    expect(second?.branches.map((b) => [b.startId, b.leafId, b.active])).toEqual([
      [3, 4, true],
      [6, 7, false],
    ]);
    expect(second?.branches[0]?.cost).toBeCloseTo(0.02);
  });

  it("counts every paid answer in the thread total", () => {
    expect(threadCost(tree)).toBeCloseTo(0.084);
    expect(threadCost([m(1, null, "assistant", { meta_data: { cost: "x" } })])).toBe(0);
  });
});
