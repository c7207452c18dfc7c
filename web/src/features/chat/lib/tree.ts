/**
 * Branch math over a thread's message tree (every message has a parent_id;
 * regenerate and edit add siblings). Pure functions over the /tree answer.
 */

export interface TreeMessage {
  id: number;
  parent_id: number | null;
  role: string;
  model: string | null;
  provider: string | null;
  status: string;
  meta_data: Record<string, unknown>;
}

export interface TreeIndex<M extends TreeMessage = TreeMessage> {
  byId: Map<number, M>;
  /** Children of each parent (roots under `null`), by ascending id. */
  children: Map<number | null, M[]>;
}

export function indexTree<M extends TreeMessage>(messages: readonly M[]): TreeIndex<M> {
  const byId = new Map<number, M>();
  const children = new Map<number | null, M[]>();
  const sorted = [...messages].sort((a, b) => a.id - b.id);
  for (const m of sorted) {
    byId.set(m.id, m);
    const key = m.parent_id;
    const list = children.get(key);
    if (list) list.push(m);
    else children.set(key, [m]);
  }
  return { byId, children };
}

/** Root..leaf ids of the branch ending at `leafId` (empty when unknown). */
export function pathTo<M extends TreeMessage>(index: TreeIndex<M>, leafId: number | null): M[] {
  const path: M[] = [];
  const seen = new Set<number>();
  let cur = leafId === null ? undefined : index.byId.get(leafId);
  while (cur && !seen.has(cur.id)) {
    seen.add(cur.id);
    path.push(cur);
    cur = cur.parent_id === null ? undefined : index.byId.get(cur.parent_id);
  }
  return path.reverse();
}

/** The leaf the server activates for a message: follow the newest (highest id) child. */
export function newestLeaf<M extends TreeMessage>(index: TreeIndex<M>, id: number): number {
  let cur = id;
  for (;;) {
    const kids = index.children.get(cur);
    const last = kids?.[kids.length - 1];
    if (!last || last.id <= cur) return cur;
    cur = last.id;
  }
}

export interface SiblingInfo {
  /** 1-based position among the siblings. */
  index: number;
  count: number;
  prevId: number | null;
  nextId: number | null;
}

/** "n of m" for a message among the children of its parent. */
export function siblingsOf<M extends TreeMessage>(index: TreeIndex<M>, id: number): SiblingInfo {
  const m = index.byId.get(id);
  if (!m) return { index: 1, count: 1, prevId: null, nextId: null };
  const sibs = index.children.get(m.parent_id) ?? [m];
  const i = sibs.findIndex((s) => s.id === id);
  return {
    index: i + 1,
    count: sibs.length,
    prevId: i > 0 ? (sibs[i - 1]?.id ?? null) : null,
    nextId: i < sibs.length - 1 ? (sibs[i + 1]?.id ?? null) : null,
  };
}

/** Cost and tokens of one answer, from its stored meta_data. */
export function answerCost(m: TreeMessage): number {
  const cost = m.meta_data?.cost;
  return typeof cost === "number" && Number.isFinite(cost) ? cost : 0;
}

export interface BranchSummary {
  /** The sibling that starts this branch. */
  startId: number;
  /** The leaf switching to it would show (what the server activates). */
  leafId: number;
  /** 1-based position among its siblings. */
  position: number;
  /** Models answering on this branch (from the start to its newest leaf). */
  models: string[];
  /** Cost of the messages from the start to the leaf. */
  cost: number;
  /** Messages from the start to the leaf. */
  length: number;
  active: boolean;
  /** A short label: the first words of the sibling. */
  role: string;
}

export interface BranchPoint {
  /** The message whose children diverge (null: several roots). */
  parentId: number | null;
  /** Depth of the children in the conversation (0-based message index). */
  depth: number;
  branches: BranchSummary[];
}

/**
 * The branch map: every message with more than one child, in conversation
 * order, each branch with its model(s), cost and whether it is on the active path.
 */
export function branchMap<M extends TreeMessage>(
  index: TreeIndex<M>,
  activeLeafId: number | null,
): BranchPoint[] {
  const active = new Set(pathTo(index, activeLeafId).map((m) => m.id));
  const points: BranchPoint[] = [];
  const depthOf = (id: number | null): number => {
    let d = 0;
    let cur = id === null ? undefined : index.byId.get(id);
    while (cur) {
      d += 1;
      cur = cur.parent_id === null ? undefined : index.byId.get(cur.parent_id);
    }
    return d;
  };
  for (const [parentId, kids] of index.children) {
    if (kids.length < 2) continue;
    const branches = kids.map((kid, i) => {
      const leafId = newestLeaf(index, kid.id);
      const path = pathTo(index, leafId);
      const from = path.findIndex((m) => m.id === kid.id);
      const segment = path.slice(from);
      const models = [
        ...new Set(
          segment.filter((m) => m.role === "assistant" && m.model).map((m) => m.model as string),
        ),
      ];
      return {
        startId: kid.id,
        leafId,
        position: i + 1,
        models,
        cost: segment.reduce((sum, m) => sum + answerCost(m), 0),
        length: segment.length,
        active: active.has(kid.id),
        role: kid.role,
      };
    });
    points.push({ parentId, depth: depthOf(parentId), branches });
  }
  return points.sort((a, b) => a.depth - b.depth || (a.parentId ?? 0) - (b.parentId ?? 0));
}

/** Total cost of every answer in the thread (all branches: all of it was paid). */
export function threadCost(messages: readonly TreeMessage[]): number {
  return messages.reduce((sum, m) => sum + answerCost(m), 0);
}
