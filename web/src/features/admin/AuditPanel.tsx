/**
 * The audit log (/api/admin/audit): who did what, newest first, filtered by
 * actor, action (exact, or a prefix with "*") and a date range, page by page.
 */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Field } from "../../ui/Field";
import { Spinner } from "../../ui/Spinner";
import { type AuditFilters, auditQuery } from "../teams/lib";

const PAGE = 50;
const EMPTY: AuditFilters = { actor: "", action: "", since: "", until: "" };

function detailText(detail: Record<string, unknown>): string {
  const parts = Object.entries(detail).map(
    ([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`,
  );
  return parts.join(", ");
}

export function AuditPanel() {
  const [filters, setFilters] = useState<AuditFilters>(EMPTY);
  const [page, setPage] = useState(0);
  const { query, error } = auditQuery(filters, page, PAGE);
  const audit = useQuery({
    queryKey: ["admin", "audit", query],
    queryFn: async () => {
      const res = await api.GET("/api/admin/audit", { params: { query } });
      const rows = await unwrap(Promise.resolve(res));
      const total = Number(res.response.headers.get("X-Total-Count"));
      return { rows, total: Number.isFinite(total) ? total : null };
    },
    enabled: !error,
    placeholderData: keepPreviousData,
  });
  const set = (k: keyof AuditFilters) => (e: { target: { value: string } }) => {
    setFilters((f) => ({ ...f, [k]: e.target.value }));
    setPage(0);
  };
  const rows = audit.data?.rows ?? [];
  const total = audit.data?.total ?? null;
  const pages = total !== null ? Math.max(1, Math.ceil(total / PAGE)) : null;
  const hasOlder = total !== null ? (page + 1) * PAGE < total : rows.length === PAGE;
  return (
    <div className="stack">
      <div className="row wrap keys-limits admin-audit-filters">
        <Field
          label="Actor (user id)"
          inputMode="numeric"
          value={filters.actor}
          onChange={set("actor")}
          placeholder="anyone"
        />
        <Field
          label="Action"
          value={filters.action}
          onChange={set("action")}
          placeholder="e.g. auth.login or team.*"
          hint="Exact, or a prefix ending in * (or in a dot: team.)"
        />
        <Field label="From" type="date" value={filters.since} onChange={set("since")} />
        <Field label="Until" type="date" value={filters.until} onChange={set("until")} />
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {audit.isLoading ? <Spinner label="Loading the audit log" /> : null}
      {audit.error ? (
        <p className="form-error" role="alert">
          {audit.error.message}
        </p>
      ) : null}
      {audit.data ? (
        rows.length ? (
          <div className="keys-table-wrap">
            <table className="keys-table admin-audit">
              <caption className="sr-only">Audit log, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">From</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id}>
                    <th scope="row">{new Date(r.created_at).toLocaleString()}</th>
                    <td>{r.actor_id ?? "—"}</td>
                    <td>
                      <code>{r.action}</code>
                    </td>
                    <td>{r.target_type ? `${r.target_type} ${r.target_id ?? ""}`.trim() : "—"}</td>
                    <td>
                      {r.ip ?? "—"}
                      {r.user_agent ? (
                        <div className="muted keys-detail admin-text">{r.user_agent}</div>
                      ) : null}
                    </td>
                    <td>
                      <div className="admin-text">{detailText(r.detail)}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">No entries{page ? " on this page" : " match"}.</p>
        )
      ) : null}
      <div className="row admin-pager">
        <span className="grow muted">
          Page {page + 1}
          {pages !== null ? ` of ${pages} (${total} entries)` : ""}
        </span>
        <Button disabled={page === 0} onClick={() => setPage((p) => p - 1)}>
          Newer
        </Button>
        <Button disabled={!hasOlder} onClick={() => setPage((p) => p + 1)}>
          Older
        </Button>
      </div>
    </div>
  );
}
