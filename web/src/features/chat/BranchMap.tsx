/**
 * The thread's branch map: every point where the conversation forks, each
 * branch with its model(s), cost and length; click one to switch to it and
 * jump there.
 */
import { useMemo } from "react";
import { IconButton } from "../../ui/Button";
import { CloseIcon } from "../../ui/icons";
import { formatCost } from "./lib/format";
import { branchMap, type TreeIndex } from "./lib/tree";
import type { Message } from "./streams";

const preview = (m: Message | undefined): string => {
  const t = (m?.content ?? "").replace(/\s+/g, " ").trim();
  return t.length > 48 ? `${t.slice(0, 47)}…` : t || "(empty)";
};

export function BranchMap({
  index,
  activeId,
  busy,
  onPick,
  onClose,
}: {
  index: TreeIndex<Message>;
  activeId: number | null;
  busy: boolean;
  onPick: (startId: number) => void;
  onClose: () => void;
}) {
  const points = useMemo(() => branchMap(index, activeId), [index, activeId]);
  return (
    <aside className="branch-map" aria-label="Branch map">
      <header>
        <h2>Branches</h2>
        <IconButton label="Close branch map" icon={<CloseIcon />} onClick={onClose} />
      </header>
      {points.length === 0 ? (
        <p className="muted">
          No branches yet. Regenerate an answer or edit a message to make one.
        </p>
      ) : (
        <ol className="branch-points">
          {points.map((p) => (
            <li key={p.parentId ?? "root"}>
              <p className="branch-point-title">
                Message {p.depth + 1}: after “{preview(index.byId.get(p.parentId ?? -1))}”
              </p>
              <ul>
                {p.branches.map((b) => (
                  <li key={b.startId}>
                    <button
                      type="button"
                      className={`branch${b.active ? " branch-active" : ""}`}
                      aria-current={b.active ? "true" : undefined}
                      disabled={busy}
                      onClick={() => onPick(b.startId)}
                    >
                      <span className="branch-pos">
                        <span className="sr-only">Branch </span>
                        {b.position} of {p.branches.length}
                      </span>
                      <span className="branch-text">{preview(index.byId.get(b.startId))}</span>
                      <span className="branch-meta">
                        {b.models.join(", ") || "—"} · {formatCost(b.cost)} · {b.length} msg
                        {b.active ? <span className="sr-only"> (shown)</span> : null}
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ol>
      )}
    </aside>
  );
}
