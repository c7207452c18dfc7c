/**
 * The signed-in user's account: who they are, and their active sessions
 * (/api/auth/sessions): revoke one, or sign out everywhere.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";
import { api, type Schemas, unwrap } from "../../api/client";
import { clearToken } from "../../api/session";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { Spinner } from "../../ui/Spinner";
import { toast } from "../../ui/Toast";
import { useAuth } from "../auth/useAuth";
import { describeAgent } from "../teams/lib";
import "../keys/keys.css";

type Session = Schemas["aihub__auth__schemas__SessionRead"];

function Sessions() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [revoking, setRevoking] = useState<Session | null>(null);
  const [everywhere, setEverywhere] = useState(false);
  const sessions = useQuery({
    queryKey: ["sessions"],
    queryFn: () => unwrap(api.GET("/api/auth/sessions")),
  });
  const revoke = useMutation({
    mutationFn: async (s: Session) => {
      const res = await api.DELETE("/api/auth/sessions/{session_id}", {
        params: { path: { session_id: s.id } },
      });
      if (!res.response.ok) await unwrap(Promise.resolve(res));
      return s;
    },
    onSuccess: (s) => {
      setRevoking(null);
      if (s.current) {
        clearToken();
        qc.clear();
        navigate("/login", { replace: true });
        return;
      }
      qc.invalidateQueries({ queryKey: ["sessions"] });
      toast("Session signed out");
    },
  });
  const signOutAll = useMutation({
    mutationFn: async () => {
      const res = await api.POST("/api/auth/logout", { params: { query: { everywhere: true } } });
      if (!res.response.ok) await unwrap(Promise.resolve(res));
    },
    onSuccess: () => {
      clearToken();
      qc.clear();
      navigate("/login", { replace: true });
    },
  });

  const list = sessions.data ?? [];
  return (
    <div className="stack">
      <div className="row">
        <p className="muted grow">
          Every browser or program signed in to your account. Sign out any you do not recognise.
        </p>
        <Button variant="danger" onClick={() => setEverywhere(true)}>
          Sign out everywhere
        </Button>
      </div>
      {sessions.isLoading ? <Spinner label="Loading sessions" /> : null}
      {sessions.error ? (
        <p className="form-error" role="alert">
          {sessions.error.message}
        </p>
      ) : null}
      {sessions.data && list.length === 0 ? <p className="muted">No active sessions.</p> : null}
      {list.length ? (
        <div className="keys-table-wrap">
          <table className="keys-table">
            <caption className="sr-only">Active sessions</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">IP address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => {
                const device = describeAgent(s.user_agent);
                return (
                  <tr key={s.id}>
                    <th scope="row">
                      {device}
                      {s.current ? <span className="badge">this device</span> : null}
                      <div className="muted keys-detail" title={s.user_agent ?? undefined}>
                        {s.method}
                      </div>
                    </th>
                    <td>{s.ip ?? "unknown"}</td>
                    <td>{new Date(s.created_at).toLocaleString()}</td>
                    <td>{new Date(s.last_used_at).toLocaleString()}</td>
                    <td className="keys-actions">
                      <Button
                        variant="ghost"
                        onClick={() => setRevoking(s)}
                        aria-label={`Sign out ${device}${s.current ? " (this device)" : ""}, session ${s.id}`}
                      >
                        Sign out
                      </Button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <Dialog
        open={revoking !== null}
        title="Sign out this session?"
        onClose={() => setRevoking(null)}
      >
        <p>
          {revoking?.current
            ? "This is the browser you are using: you will be signed out here."
            : `${describeAgent(revoking?.user_agent)} will have to sign in again.`}
        </p>
        {revoke.error ? (
          <p className="form-error" role="alert">
            {revoke.error.message}
          </p>
        ) : null}
        <div className="row end">
          <Button onClick={() => setRevoking(null)}>Cancel</Button>
          <Button
            variant="danger"
            busy={revoke.isPending}
            onClick={() => revoking && revoke.mutate(revoking)}
          >
            Sign out session
          </Button>
        </div>
      </Dialog>
      <Dialog open={everywhere} title="Sign out everywhere?" onClose={() => setEverywhere(false)}>
        <p>Every session of your account ends, this one included. Gateway keys keep working.</p>
        {signOutAll.error ? (
          <p className="form-error" role="alert">
            {signOutAll.error.message}
          </p>
        ) : null}
        <div className="row end">
          <Button onClick={() => setEverywhere(false)}>Cancel</Button>
          <Button variant="danger" busy={signOutAll.isPending} onClick={() => signOutAll.mutate()}>
            Sign out all sessions
          </Button>
        </div>
      </Dialog>
    </div>
  );
}

export default function AccountPage() {
  const { user } = useAuth();
  return (
    <section className="page keys-page" aria-labelledby="account-h">
      <h1 id="account-h">Account</h1>
      {user ? (
        <dl className="account-dl">
          <dt>User name</dt>
          <dd>{user.username}</dd>
          <dt>E-mail</dt>
          <dd>{user.email}</dd>
          <dt>Role</dt>
          <dd>{user.role}</dd>
          <dt>User id</dt>
          <dd>{user.id}</dd>
        </dl>
      ) : null}
      <section aria-labelledby="account-sessions-h" className="keys-section">
        <h2 id="account-sessions-h">Sessions</h2>
        <Sessions />
      </section>
    </section>
  );
}
