/**
 * One team: members (add by user id, invite by e-mail, change role, remove,
 * leave; those single sign-on added are marked "via SSO"), limits (owners edit
 * models and rate limits; the monthly budget is an administrator's), the SSO
 * groups that fill the team (administrators), and this month's spend per
 * member and per key.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { useNavigate, useParams } from "react-router";
import { api, type Schemas, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { Field, TextArea } from "../../ui/Field";
import { Spinner } from "../../ui/Spinner";
import { toast } from "../../ui/Toast";
import { useAuth } from "../auth/useAuth";
import { budgetShare } from "../keys/model";
import { formatCount, formatUsd } from "../usage/series";
import {
  absoluteLink,
  limitsForm,
  limitsUpdate,
  monthRange,
  ssoForm,
  ssoUpdate,
  type Team,
  teamPowers,
} from "./lib";
import "../keys/keys.css";
import "./teams.css";

type Member = Schemas["TeamMemberRead"];
type Role = "owner" | "member";
type Invitation = Schemas["InvitationCreated"];

async function noContent(p: Promise<{ error?: unknown; response: Response }>): Promise<void> {
  const res = await p;
  if (!res.response.ok) await unwrap(Promise.resolve({ ...res, data: undefined }));
}

function AddMember({ team }: { team: Team }) {
  const qc = useQueryClient();
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [error, setError] = useState<string | null>(null);
  const roleId = useId();
  const add = useMutation({
    mutationFn: (id: number) =>
      unwrap(
        api.POST("/api/teams/{team_id}/members", {
          params: { path: { team_id: team.id } },
          body: { user_id: id, role },
        }),
      ),
    onSuccess: (m) => {
      qc.invalidateQueries({ queryKey: ["teams", team.id, "members"] });
      setUserId("");
      toast(`${m.username} added`);
    },
    onError: (e: Error) => setError(e.message),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!/^\d+$/.test(userId.trim())) return setError("A user id is a number (see Admin → Users).");
    add.mutate(Number(userId.trim()));
  }
  return (
    <form className="stack" onSubmit={submit} aria-label="Add a member">
      <div className="row wrap team-add">
        <Field
          label="User id"
          inputMode="numeric"
          value={userId}
          onChange={(e) => setUserId(e.target.value)}
        />
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="member">member</option>
            <option value="owner">owner</option>
          </select>
        </div>
        <Button type="submit" busy={add.isPending}>
          Add member
        </Button>
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

function Invite({ team }: { team: Team }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState<Invitation | null>(null);
  const [copied, setCopied] = useState(false);
  const roleId = useId();
  const linkId = useId();
  const invite = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/teams/{team_id}/invitations", {
          params: { path: { team_id: team.id } },
          body: { email: email.trim(), role },
        }),
      ),
    onSuccess: (inv) => {
      setEmail("");
      setSent(inv);
    },
    onError: (e: Error) => setError(e.message),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!email.includes("@")) return setError("An e-mail address, like name@example.com.");
    invite.mutate();
  }
  const link = sent ? absoluteLink(sent.link, window.location.origin) : "";
  async function copy() {
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
    } catch {
      (document.getElementById(linkId) as HTMLInputElement | null)?.select();
    }
  }
  return (
    <>
      <form className="stack" onSubmit={submit} aria-label="Invite by e-mail">
        <div className="row wrap team-add">
          <Field
            label="E-mail to invite"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          <div className="field">
            <label htmlFor={roleId}>Invited as</label>
            <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              <option value="member">member</option>
              <option value="owner">owner</option>
            </select>
          </div>
          <Button type="submit" busy={invite.isPending}>
            Invite
          </Button>
        </div>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
      <Dialog
        open={sent !== null}
        title="Invitation link"
        description="Send this link to the person: it is shown only now, works once, and expires."
        onClose={() => {
          setSent(null);
          setCopied(false);
        }}
      >
        {sent ? (
          <div className="stack">
            <div className="field">
              <label htmlFor={linkId}>Link for {sent.email}</label>
              <input
                id={linkId}
                className="team-invite-link"
                readOnly
                value={link}
                onFocus={(e) => e.target.select()}
              />
            </div>
            <p className="muted">Expires {new Date(sent.expires_at).toLocaleString()}.</p>
            <p role="status" className="muted">
              {copied ? "Copied to the clipboard." : ""}
            </p>
            <div className="row end">
              <Button onClick={copy}>Copy link</Button>
              <Button
                variant="primary"
                onClick={() => {
                  setSent(null);
                  setCopied(false);
                }}
              >
                Done
              </Button>
            </div>
          </div>
        ) : null}
      </Dialog>
    </>
  );
}

function Members({ team, isAdmin, meId }: { team: Team; isAdmin: boolean; meId: number }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const powers = teamPowers(team, isAdmin);
  const [removing, setRemoving] = useState<Member | null>(null);
  const members = useQuery({
    queryKey: ["teams", team.id, "members"],
    queryFn: () =>
      unwrap(
        api.GET("/api/teams/{team_id}/members", {
          params: { path: { team_id: team.id }, query: { limit: 500 } },
        }),
      ),
  });
  const setRole = useMutation({
    mutationFn: ({ m, role }: { m: Member; role: Role }) =>
      unwrap(
        api.PUT("/api/teams/{team_id}/members/{user_id}", {
          params: { path: { team_id: team.id, user_id: m.user_id } },
          body: { role },
        }),
      ),
    onSuccess: (m) => {
      qc.invalidateQueries({ queryKey: ["teams"] });
      toast(`${m.username} is now ${m.role}`);
    },
    onError: (e: Error) => toast(e.message),
  });
  const remove = useMutation({
    mutationFn: (m: Member) =>
      noContent(
        api.DELETE("/api/teams/{team_id}/members/{user_id}", {
          params: { path: { team_id: team.id, user_id: m.user_id } },
        }),
      ),
    onSuccess: (_, m) => {
      setRemoving(null);
      qc.invalidateQueries({ queryKey: ["teams"] });
      if (m.user_id === meId) {
        toast(`You left ${team.name}`);
        navigate("/teams", { replace: true });
      } else toast(`${m.username} removed`);
    },
  });
  const list = members.data ?? [];
  const me = list.find((m) => m.user_id === meId);
  const leaving = removing?.user_id === meId;
  return (
    <div className="stack">
      {members.isLoading ? <Spinner label="Loading members" /> : null}
      {members.error ? (
        <p className="form-error" role="alert">
          {members.error.message}
        </p>
      ) : null}
      {list.length ? (
        <div className="keys-table-wrap">
          <table className="keys-table">
            <caption className="sr-only">Members of {team.name}</caption>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">User id</th>
                <th scope="col">Role</th>
                <th scope="col">Since</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((m) => (
                <tr key={m.user_id}>
                  <th scope="row">
                    {m.username}
                    {m.user_id === meId ? <span className="badge">you</span> : null}
                    {m.source === "sso" ? (
                      <span
                        className="badge"
                        title="Added by single sign-on: follows the person's groups at each sign-in"
                      >
                        via SSO
                      </span>
                    ) : null}
                    <div className="muted keys-detail">{m.email}</div>
                  </th>
                  <td>{m.user_id}</td>
                  <td>
                    {powers.manageMembers ? (
                      <select
                        aria-label={`Role of ${m.username}`}
                        value={m.role}
                        disabled={setRole.isPending}
                        onChange={(e) => setRole.mutate({ m, role: e.target.value as Role })}
                      >
                        <option value="member">member</option>
                        <option value="owner">owner</option>
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>{new Date(m.created_at).toLocaleDateString()}</td>
                  <td className="keys-actions">
                    {powers.manageMembers && m.user_id !== meId ? (
                      <Button
                        variant="ghost"
                        onClick={() => setRemoving(m)}
                        aria-label={`Remove ${m.username}`}
                      >
                        Remove
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : members.data ? (
        <p className="muted">No members yet.</p>
      ) : null}
      {me ? (
        <div className="row">
          <span className="grow" />
          <Button variant="ghost" onClick={() => setRemoving(me)}>
            Leave team
          </Button>
        </div>
      ) : null}
      {powers.manageMembers ? (
        <>
          <h3>Add a member</h3>
          <AddMember team={team} />
          <h3>Invite by e-mail</h3>
          <Invite team={team} />
        </>
      ) : null}
      <Dialog
        open={removing !== null}
        title={leaving ? `Leave ${team.name}?` : "Remove this member?"}
        onClose={() => setRemoving(null)}
      >
        <p>
          {leaving
            ? "You lose the team's models and keys until someone adds you again."
            : `${removing?.username} loses the team's models and keys; their team keys stop working.`}
        </p>
        {remove.error ? (
          <p className="form-error" role="alert">
            {remove.error.message}
          </p>
        ) : null}
        <div className="row end">
          <Button onClick={() => setRemoving(null)}>Cancel</Button>
          <Button
            variant="danger"
            busy={remove.isPending}
            onClick={() => removing && remove.mutate(removing)}
          >
            {leaving ? "Leave team" : "Remove member"}
          </Button>
        </div>
      </Dialog>
    </div>
  );
}

function Limits({ team, isAdmin }: { team: Team; isAdmin: boolean }) {
  const qc = useQueryClient();
  const powers = teamPowers(team, isAdmin);
  const [form, setForm] = useState(() => limitsForm(team));
  const [error, setError] = useState<string | null>(null);
  const modelsId = useId();
  const save = useMutation({
    mutationFn: (body: Schemas["TeamUpdate"]) =>
      unwrap(api.PUT("/api/teams/{team_id}", { params: { path: { team_id: team.id } }, body })),
    onSuccess: (t) => {
      qc.setQueryData(["teams", team.id], t);
      qc.invalidateQueries({ queryKey: ["teams"] });
      setForm(limitsForm(t));
      toast("Limits saved");
    },
    onError: (e: Error) => setError(e.message),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const r = limitsUpdate(team, form, isAdmin);
    if ("error" in r) return setError(r.error);
    save.mutate(r.body);
  }
  const ro = !powers.editLimits;
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [k]: e.target.value }));
  return (
    <form className="stack" onSubmit={submit} aria-label={`Limits of ${team.name}`}>
      <div className="field">
        <label htmlFor={modelsId}>
          Allowed models (one per line or comma-separated; * for patterns; blank: all)
        </label>
        <textarea
          id={modelsId}
          rows={3}
          value={form.models}
          readOnly={ro}
          onChange={set("models")}
          placeholder="all models"
        />
      </div>
      <div className="row wrap keys-limits">
        <Field
          label="Requests per minute"
          inputMode="numeric"
          value={form.rpm}
          readOnly={ro}
          onChange={set("rpm")}
          placeholder="no limit"
        />
        <Field
          label="Tokens per minute"
          inputMode="numeric"
          value={form.tpm}
          readOnly={ro}
          onChange={set("tpm")}
          placeholder="no limit"
        />
        <Field
          label="Monthly budget (USD)"
          inputMode="decimal"
          value={form.budget}
          readOnly={!powers.editBudget}
          onChange={set("budget")}
          placeholder="no budget"
          hint={powers.editBudget ? undefined : "Set by an administrator"}
        />
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      {ro ? null : (
        <div className="row end">
          <Button type="submit" variant="primary" busy={save.isPending}>
            Save limits
          </Button>
        </div>
      )}
    </form>
  );
}

function SsoGroups({ team, isAdmin }: { team: Team; isAdmin: boolean }) {
  const qc = useQueryClient();
  const [form, setForm] = useState(() => ssoForm(team));
  const [error, setError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (body: Schemas["TeamUpdate"]) =>
      unwrap(api.PUT("/api/teams/{team_id}", { params: { path: { team_id: team.id } }, body })),
    onSuccess: (t) => {
      qc.setQueryData(["teams", team.id], t);
      qc.invalidateQueries({ queryKey: ["teams"] });
      setForm(ssoForm(t));
      toast("SSO groups saved");
    },
    onError: (e: Error) => setError(e.message),
  });
  if (!teamPowers(team, isAdmin).editSso) {
    return (
      <dl className="team-dl">
        <dt>Members from</dt>
        <dd>{team.sso_groups.join(", ") || "none"}</dd>
        <dt>Owners from</dt>
        <dd>{team.sso_owner_groups.join(", ") || "none"}</dd>
      </dl>
    );
  }
  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    const r = ssoUpdate(team, form);
    if ("error" in r) return setError(r.error);
    save.mutate(r.body);
  }
  return (
    <form className="stack" onSubmit={submit} aria-label={`SSO groups of ${team.name}`}>
      <p className="muted">
        At each single sign-on, members of these groups join the team, and leave it when they leave
        the groups; members added by hand stay as they are. One group per line, as the sign-in
        provider names it; prefix a provider's name to accept it from that provider only
        (keycloak:/engineering, github:octo-org/ml).
      </p>
      <div className="row wrap keys-limits">
        <TextArea
          label="SSO groups (members)"
          rows={3}
          value={form.members}
          onChange={(e) => setForm((f) => ({ ...f, members: e.target.value }))}
          placeholder="no group"
        />
        <TextArea
          label="SSO groups (owners)"
          rows={3}
          value={form.owners}
          onChange={(e) => setForm((f) => ({ ...f, owners: e.target.value }))}
          placeholder="no group"
        />
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="row end">
        <Button type="submit" variant="primary" busy={save.isPending}>
          Save SSO groups
        </Button>
      </div>
    </form>
  );
}

function Spend({ team }: { team: Team }) {
  const { start, end } = monthRange();
  const usage = useQuery({
    queryKey: ["teams", team.id, "usage", start],
    queryFn: () =>
      unwrap(
        api.GET("/api/statistics/usage", {
          params: { query: { team_id: team.id, start_date: start, end_date: end } },
        }),
      ),
  });
  const spend = team.spend_usd ?? 0;
  const share = budgetShare({ spend_usd: spend, budget_usd: team.budget_usd });
  const members = usage.data?.member_usage ?? [];
  const keys = usage.data?.key_usage ?? [];
  return (
    <div className="stack">
      <p>
        <strong>{formatUsd(spend)}</strong>
        {team.budget_usd != null
          ? ` of ${formatUsd(team.budget_usd)} this month`
          : " this month (no budget)"}
        {share !== null ? (
          <progress
            className="team-budget"
            max={1}
            value={share}
            aria-label={`${Math.round(share * 100)}% of the monthly budget spent`}
          />
        ) : null}
      </p>
      {usage.isLoading ? <Spinner label="Loading usage" /> : null}
      {usage.error ? (
        <p className="form-error" role="alert">
          {usage.error.message}
        </p>
      ) : null}
      {usage.data ? (
        <p className="muted">
          {formatCount(usage.data.total_requests)} requests, {formatCount(usage.data.total_tokens)}{" "}
          tokens since {start}.
        </p>
      ) : null}
      {members.length ? (
        <div className="keys-table-wrap">
          <table className="keys-table">
            <caption>Per member this month</caption>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Requests</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.user_id}>
                  <th scope="row">{m.username}</th>
                  <td>{formatCount(m.requests)}</td>
                  <td>{formatCount(m.tokens)}</td>
                  <td>{formatUsd(m.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {keys.length ? (
        <div className="keys-table-wrap">
          <table className="keys-table">
            <caption>Per team key this month</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Requests</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.key_id}>
                  <th scope="row">
                    {k.name} <code>{k.key_prefix}…</code>
                  </th>
                  <td>{formatCount(k.requests)}</td>
                  <td>{formatCount(k.tokens)}</td>
                  <td>{formatUsd(k.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

export default function TeamPage() {
  const { teamId = "" } = useParams();
  const id = /^\d+$/.test(teamId) ? Number(teamId) : null;
  const { user } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);
  const team = useQuery({
    queryKey: ["teams", id],
    queryFn: () =>
      unwrap(api.GET("/api/teams/{team_id}", { params: { path: { team_id: id ?? 0 } } })),
    enabled: id !== null,
  });
  const remove = useMutation({
    mutationFn: () =>
      noContent(api.DELETE("/api/teams/{team_id}", { params: { path: { team_id: id ?? 0 } } })),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["teams"] });
      toast("Team deleted");
      navigate("/teams", { replace: true });
    },
  });
  const isAdmin = user?.role === "admin";
  const t = team.data;
  return (
    <section className="page keys-page" aria-labelledby="team-h">
      <h1 id="team-h">{t ? t.name : "Team"}</h1>
      {id === null ? <p role="alert">No such team.</p> : null}
      {team.isLoading ? <Spinner label="Loading the team" /> : null}
      {team.error ? (
        <p className="form-error" role="alert">
          {team.error.message}
        </p>
      ) : null}
      {t && user ? (
        <>
          <div className="row">
            <p className="muted grow">
              {t.description ? `${t.description} · ` : ""}
              {t.role
                ? `You are ${t.role === "owner" ? "an owner" : "a member"}.`
                : "You administer this hub."}
            </p>
            {teamPowers(t, isAdmin).remove ? (
              <Button variant="danger" onClick={() => setDeleting(true)}>
                Delete team
              </Button>
            ) : null}
          </div>
          <section aria-labelledby="team-members-h" className="keys-section">
            <h2 id="team-members-h">Members</h2>
            <Members team={t} isAdmin={isAdmin} meId={user.id} />
          </section>
          <section aria-labelledby="team-limits-h" className="keys-section">
            <h2 id="team-limits-h">Limits</h2>
            <Limits key={t.updated_at} team={t} isAdmin={isAdmin} />
          </section>
          {isAdmin || t.sso_groups.length || t.sso_owner_groups.length ? (
            <section aria-labelledby="team-sso-h" className="keys-section">
              <h2 id="team-sso-h">Single sign-on</h2>
              <SsoGroups key={t.updated_at} team={t} isAdmin={isAdmin} />
            </section>
          ) : null}
          <section aria-labelledby="team-spend-h" className="keys-section">
            <h2 id="team-spend-h">Spend</h2>
            <Spend team={t} />
          </section>
          <Dialog open={deleting} title={`Delete ${t.name}?`} onClose={() => setDeleting(false)}>
            <p>The team, its memberships and its keys go away. This cannot be undone.</p>
            {remove.error ? (
              <p className="form-error" role="alert">
                {remove.error.message}
              </p>
            ) : null}
            <div className="row end">
              <Button onClick={() => setDeleting(false)}>Cancel</Button>
              <Button variant="danger" busy={remove.isPending} onClick={() => remove.mutate()}>
                Delete team
              </Button>
            </div>
          </Dialog>
        </>
      ) : null}
    </section>
  );
}
