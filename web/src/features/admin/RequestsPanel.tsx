/** Every user's requests, newest first, page by page (/api/admin/requests). */
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { api, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Spinner } from "../../ui/Spinner";

const PAGE = 50;

export function RequestsPanel() {
  const [page, setPage] = useState(0);
  const [userFilter, setUserFilter] = useState("");
  const userId = /^\d+$/.test(userFilter.trim()) ? Number(userFilter.trim()) : undefined;
  const filterId = useId();
  const requests = useQuery({
    queryKey: ["admin", "requests", userId ?? null, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/admin/requests", {
          params: { query: { skip: page * PAGE, limit: PAGE, user_id: userId } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const rows = requests.data ?? [];
  return (
    <div className="stack">
      <div className="field admin-search">
        <label htmlFor={filterId}>Only user id</label>
        <input
          id={filterId}
          inputMode="numeric"
          value={userFilter}
          placeholder="all users"
          onChange={(e) => {
            setUserFilter(e.target.value);
            setPage(0);
          }}
        />
      </div>
      {requests.isLoading ? <Spinner label="Loading requests" /> : null}
      {requests.error ? (
        <p className="form-error" role="alert">
          {requests.error.message}
        </p>
      ) : null}
      {requests.data ? (
        rows.length ? (
          <div className="keys-table-wrap">
            <table className="keys-table admin-requests">
              <caption className="sr-only">Requests, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">User</th>
                  <th scope="col">Model</th>
                  <th scope="col">Status</th>
                  <th scope="col">Question</th>
                  <th scope="col">Answer</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id}>
                    <th scope="row">{new Date(r.created_at).toLocaleString()}</th>
                    <td>{r.user_id}</td>
                    <td>
                      {r.model}
                      <div className="muted keys-detail">{r.provider}</div>
                    </td>
                    <td>
                      <span className={`health health-${r.status === "ok" ? "ok" : "warn"}`}>
                        {r.status}
                      </span>
                    </td>
                    <td>
                      <div className="admin-text">{r.question}</div>
                    </td>
                    <td>
                      <div className="admin-text">{r.answer}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">No requests{page ? " on this page" : " yet"}.</p>
        )
      ) : null}
      <div className="row admin-pager">
        <span className="grow muted">Page {page + 1}</span>
        <Button disabled={page === 0} onClick={() => setPage((p) => p - 1)}>
          Newer
        </Button>
        <Button disabled={rows.length < PAGE} onClick={() => setPage((p) => p + 1)}>
          Older
        </Button>
      </div>
    </div>
  );
}
