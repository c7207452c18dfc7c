/** Teams: the user's teams (administrators: all of them, and "create team"). */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";
import { api, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { EmptyState } from "../../ui/EmptyState";
import { Field } from "../../ui/Field";
import { Spinner } from "../../ui/Spinner";
import { useAuth } from "../auth/useAuth";
import { formatUsd } from "../usage/series";
import { useTeams } from "./hooks";
import "../keys/keys.css";
import "./teams.css";

function CreateTeam({ onDone }: { onDone: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [error, setError] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/teams/", {
          body: { name: name.trim(), description: description.trim() || null },
        }),
      ),
    onSuccess: (team) => {
      qc.invalidateQueries({ queryKey: ["teams"] });
      onDone();
      navigate(`/teams/${team.id}`);
    },
    onError: (e: Error) => setError(e.message),
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!name.trim()) return setError("Give the team a name.");
    create.mutate();
  }
  return (
    <form className="stack" onSubmit={submit}>
      <Field
        label="Team name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
        maxLength={200}
      />
      <Field
        label="Description (optional)"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
        maxLength={2000}
      />
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="row end">
        <Button onClick={onDone}>Cancel</Button>
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create team
        </Button>
      </div>
    </form>
  );
}

export default function TeamsPage() {
  const { user } = useAuth();
  const teams = useTeams();
  const [creating, setCreating] = useState(false);
  const isAdmin = user?.role === "admin";
  const list = teams.data ?? [];
  return (
    <section className="page keys-page" aria-labelledby="teams-h">
      <h1 id="teams-h">Teams</h1>
      <div className="row">
        <p className="muted grow">
          {isAdmin
            ? "Every team of this hub. A team has members, allowed models, limits and a monthly budget."
            : "The teams you belong to. Team gateway keys bill the team."}
        </p>
        {isAdmin ? (
          <Button variant="primary" onClick={() => setCreating(true)}>
            Create team
          </Button>
        ) : null}
      </div>
      {teams.isLoading ? <Spinner label="Loading teams" /> : null}
      {teams.error ? (
        <p className="form-error" role="alert">
          {teams.error.message}
        </p>
      ) : null}
      {teams.data && list.length === 0 ? (
        <EmptyState title="No teams yet">
          <p>
            {isAdmin
              ? "Create one, then add people or invite them by e-mail."
              : "When someone adds or invites you to a team, it shows here."}
          </p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="keys-table-wrap">
          <table className="keys-table">
            <caption className="sr-only">Teams</caption>
            <thead>
              <tr>
                <th scope="col">Team</th>
                <th scope="col">Your role</th>
                <th scope="col">Models</th>
                <th scope="col">Spend this month</th>
              </tr>
            </thead>
            <tbody>
              {list.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    <Link to={`/teams/${t.id}`}>{t.name}</Link>
                    {t.description ? (
                      <div className="muted keys-detail">{t.description}</div>
                    ) : null}
                  </th>
                  <td>{t.role ?? (isAdmin ? "administrator" : "—")}</td>
                  <td>{t.models.length ? t.models.join(", ") : "all"}</td>
                  <td>
                    {formatUsd(t.spend_usd ?? 0)}
                    {t.budget_usd != null ? ` of ${formatUsd(t.budget_usd)}` : ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Dialog open={creating} title="Create a team" onClose={() => setCreating(false)}>
        {creating ? <CreateTeam onDone={() => setCreating(false)} /> : null}
      </Dialog>
    </section>
  );
}
