/** Users: search, page through, change role, deactivate or reactivate. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useDeferredValue, useId, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { Spinner } from "../../ui/Spinner";
import { toast, toastError } from "../../ui/Toast";

type User = Schemas["UserRead"];
const PAGE = 25;

export function UsersPanel({ currentUserId }: { currentUserId: number }) {
  const qc = useQueryClient();
  const [search, setSearch] = useState("");
  const term = useDeferredValue(search.trim());
  const [page, setPage] = useState(0);
  const searchId = useId();
  const [confirm, setConfirm] = useState<{
    user: User;
    change: Schemas["UserAdminUpdate"];
    text: string;
  } | null>(null);

  const users = useQuery({
    queryKey: ["admin", "users", term, page],
    queryFn: async () => {
      const res = await api.GET("/api/admin/users", {
        params: { query: { search: term || undefined, skip: page * PAGE, limit: PAGE } },
      });
      const list = await unwrap(Promise.resolve(res));
      const total = Number(res.response.headers.get("X-Total-Count") ?? list.length);
      return { list, total };
    },
    placeholderData: keepPreviousData,
  });

  const update = useMutation({
    mutationFn: (v: { id: number; change: Schemas["UserAdminUpdate"] }) =>
      unwrap(
        api.PATCH("/api/admin/users/{user_id}", {
          params: { path: { user_id: v.id } },
          body: v.change,
        }),
      ),
    onSuccess: (u) => {
      qc.invalidateQueries({ queryKey: ["admin", "users"] });
      toast(`${u.username} updated`);
      setConfirm(null);
    },
    onError: (e: Error) => {
      toastError(e.message);
      setConfirm(null);
    },
  });

  const total = users.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));

  return (
    <div className="stack">
      <div className="field admin-search">
        <label htmlFor={searchId}>Search users</label>
        <input
          id={searchId}
          type="search"
          value={search}
          placeholder="Email or username"
          onChange={(e) => {
            setSearch(e.target.value);
            setPage(0);
          }}
        />
      </div>
      {users.isLoading ? <Spinner label="Loading users" /> : null}
      {users.error ? (
        <p className="form-error" role="alert">
          {users.error.message}
        </p>
      ) : null}
      {users.data ? (
        <>
          <div className="keys-table-wrap">
            <table className="keys-table">
              <caption className="sr-only">Users</caption>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Joined</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.data.list.map((u) => (
                  <tr key={u.id} className={u.is_active ? undefined : "keys-inactive"}>
                    <th scope="row">
                      {u.username}
                      {u.id === currentUserId ? <span className="badge">you</span> : null}
                    </th>
                    <td>{u.email}</td>
                    <td>
                      <select
                        aria-label={`Role of ${u.username}`}
                        value={u.role}
                        onChange={(e) => {
                          const role = e.target.value as "user" | "admin";
                          setConfirm({
                            user: u,
                            change: { role },
                            text:
                              role === "admin"
                                ? `${u.username} will be able to manage every user, the shared keys and see all requests.`
                                : `${u.username} will lose administrator rights.`,
                          });
                        }}
                      >
                        <option value="user">User</option>
                        <option value="admin">Administrator</option>
                      </select>
                    </td>
                    <td>
                      <span className={`health health-${u.is_active ? "ok" : "off"}`}>
                        {u.is_active ? "Active" : "Deactivated"}
                      </span>
                    </td>
                    <td>{new Date(u.created_at).toLocaleDateString()}</td>
                    <td className="keys-actions">
                      <Button
                        variant="ghost"
                        aria-label={`${u.is_active ? "Deactivate" : "Reactivate"} ${u.username}`}
                        onClick={() =>
                          setConfirm({
                            user: u,
                            change: { is_active: !u.is_active },
                            text: u.is_active
                              ? `${u.username} will be signed out at once and cannot sign in until reactivated.`
                              : `${u.username} will be able to sign in again.`,
                          })
                        }
                      >
                        {u.is_active ? "Deactivate" : "Reactivate"}
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="row admin-pager">
            <span className="grow muted">
              {total} user{total === 1 ? "" : "s"} · page {page + 1} of {pages}
            </span>
            <Button disabled={page === 0} onClick={() => setPage((p) => p - 1)}>
              Previous page
            </Button>
            <Button disabled={page + 1 >= pages} onClick={() => setPage((p) => p + 1)}>
              Next page
            </Button>
          </div>
        </>
      ) : null}
      <Dialog open={confirm !== null} title="Change this user?" onClose={() => setConfirm(null)}>
        <p>{confirm?.text}</p>
        <div className="row end">
          <Button onClick={() => setConfirm(null)}>Cancel</Button>
          <Button
            variant="primary"
            busy={update.isPending}
            onClick={() =>
              confirm && update.mutate({ id: confirm.user.id, change: confirm.change })
            }
          >
            Confirm
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
