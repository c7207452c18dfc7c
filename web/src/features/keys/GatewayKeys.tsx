/**
 * Gateway keys (/api/gateway-keys/): keys for programs calling aihub's
 * OpenAI/Anthropic-compatible API, with allowed models, rate limits and a
 * budget. The secret exists in one answer only: it is shown once, in a
 * dialog with a copy button, and never again.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId, useState } from "react";
import { api, type Schemas, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { EmptyState } from "../../ui/EmptyState";
import { Field } from "../../ui/Field";
import { Spinner } from "../../ui/Spinner";
import { toast } from "../../ui/Toast";
import { useAuth } from "../auth/useAuth";
import { useTeams } from "../teams/hooks";
import { formatUsd } from "../usage/series";
import {
  budgetShare,
  expiryFromDate,
  type GatewayKey,
  gatewayState,
  optionalInt,
  optionalUsd,
  parseModels,
} from "./model";

type Created = Schemas["GatewayKeyCreated"];

/** A local "YYYY-MM-DD" for a date input, from an ISO time. */
function localDay(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Create a key (onCreated gets the one-time secret) or edit one (PATCH). */
function KeyForm({
  editing,
  onCreated,
  onSaved,
  onCancel,
}: {
  editing?: GatewayKey;
  onCreated?: (k: Created) => void;
  onSaved?: () => void;
  onCancel: () => void;
}) {
  const qc = useQueryClient();
  const [name, setName] = useState(editing?.name ?? "");
  const [models, setModels] = useState(editing?.models.join("\n") ?? "");
  const [rpm, setRpm] = useState(editing?.rpm ? String(editing.rpm) : "");
  const [tpm, setTpm] = useState(editing?.tpm ? String(editing.tpm) : "");
  const [budget, setBudget] = useState(
    editing?.budget_usd != null ? String(editing.budget_usd) : "",
  );
  const [expires, setExpires] = useState(localDay(editing?.expires_at ?? null));
  const [error, setError] = useState<string | null>(null);
  const [teamId, setTeamId] = useState("");
  const modelsId = useId();
  const teamSelectId = useId();
  const teams = useTeams();
  const { user } = useAuth();
  // a team key is made by an owner of the team (administrators: any team)
  const teamChoices = editing
    ? []
    : (teams.data ?? []).filter((t) => t.role === "owner" || user?.role === "admin");

  const create = useMutation({
    mutationFn: async (body: Schemas["GatewayKeyCreate"]): Promise<Created | null> => {
      if (!editing) return unwrap(api.POST("/api/gateway-keys/", { body }));
      await unwrap(
        api.PATCH("/api/gateway-keys/{key_id}", { params: { path: { key_id: editing.id } }, body }),
      );
      return null;
    },
    onSuccess: (key) => {
      qc.invalidateQueries({ queryKey: ["gateway-keys"] });
      if (key) onCreated?.(key);
      else onSaved?.();
    },
    onError: (e: Error) => setError(e.message),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!name.trim()) return setError("Give the key a name.");
    const r = optionalInt(rpm);
    const t = optionalInt(tpm);
    const b = optionalUsd(budget);
    if (r === "invalid") return setError("Requests per minute: a whole number of at least 1.");
    if (t === "invalid") return setError("Tokens per minute: a whole number of at least 1.");
    if (b === "invalid") return setError("Budget: an amount in dollars, like 25 or 12.50.");
    const exp = expires ? expiryFromDate(expires) : null;
    const list = parseModels(models);
    create.mutate({
      name: name.trim(),
      models: list.length ? list : null,
      rpm: r,
      tpm: t,
      budget_usd: b,
      expires_at: exp,
      ...(teamId && !editing ? { team_id: Number(teamId) } : {}),
    });
  }

  return (
    <form className="stack" onSubmit={submit}>
      <Field
        label="Name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        required
        maxLength={200}
        placeholder="e.g. my script"
      />
      {teamChoices.length ? (
        <div className="field">
          <label htmlFor={teamSelectId}>Billed to</label>
          <select id={teamSelectId} value={teamId} onChange={(e) => setTeamId(e.target.value)}>
            <option value="">Me (a personal key)</option>
            {teamChoices.map((t) => (
              <option key={t.id} value={String(t.id)}>
                Team {t.name}
              </option>
            ))}
          </select>
          <small className="field-hint">
            A team key bills the team and follows its models, limits and budget.
          </small>
        </div>
      ) : null}
      <div className="field">
        <label htmlFor={modelsId}>
          Allowed models (one per line or comma-separated; * for patterns; blank: all)
        </label>
        <textarea
          id={modelsId}
          rows={3}
          value={models}
          onChange={(e) => setModels(e.target.value)}
          placeholder={"gpt-4o-mini\nclaude-*"}
        />
      </div>
      <div className="row wrap keys-limits">
        <Field
          label="Requests per minute"
          inputMode="numeric"
          value={rpm}
          onChange={(e) => setRpm(e.target.value)}
          placeholder="no limit"
        />
        <Field
          label="Tokens per minute"
          inputMode="numeric"
          value={tpm}
          onChange={(e) => setTpm(e.target.value)}
          placeholder="no limit"
        />
        <Field
          label="Budget (USD)"
          inputMode="decimal"
          value={budget}
          onChange={(e) => setBudget(e.target.value)}
          placeholder="no budget"
        />
        <Field
          label="Expires on"
          type="date"
          value={expires}
          onChange={(e) => setExpires(e.target.value)}
        />
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="row end">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={create.isPending}>
          {editing ? "Save changes" : "Create key"}
        </Button>
      </div>
    </form>
  );
}

function SecretDialog({ created, onClose }: { created: Created | null; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  const secretId = useId();
  async function copy() {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      // no clipboard permission: select the text so the user can copy it
      const el = document.getElementById(secretId) as HTMLInputElement | null;
      el?.select();
    }
  }
  return (
    <Dialog
      open={created !== null}
      title="Your new gateway key"
      description="Copy it now: this is the only time it is shown. aihub keeps only its hash."
      onClose={() => {
        setCopied(false);
        onClose();
      }}
    >
      {created ? (
        <div className="stack">
          <div className="field">
            <label htmlFor={secretId}>Key for {created.name}</label>
            <input
              id={secretId}
              className="keys-secret"
              readOnly
              value={created.key}
              onFocus={(e) => e.target.select()}
            />
          </div>
          <p className="muted">
            Use it as <code>Authorization: Bearer …</code> with any OpenAI or Anthropic SDK pointed
            at <code>{window.location.origin}/v1</code>.
          </p>
          <p role="status" className="muted">
            {copied ? "Copied to the clipboard." : ""}
          </p>
          <div className="row end">
            <Button onClick={copy}>Copy key</Button>
            <Button
              variant="primary"
              onClick={() => {
                setCopied(false);
                onClose();
              }}
            >
              Done
            </Button>
          </div>
        </div>
      ) : null}
    </Dialog>
  );
}

function Limits({ k }: { k: GatewayKey }) {
  const parts: string[] = [];
  if (k.rpm) parts.push(`${k.rpm} req/min`);
  if (k.tpm) parts.push(`${k.tpm.toLocaleString()} tokens/min`);
  return <>{parts.length ? parts.join(", ") : "none"}</>;
}

function Spend({ k }: { k: GatewayKey }) {
  const share = budgetShare(k);
  if (share === null) return <>{formatUsd(k.spend_usd)}</>;
  return (
    <div className="keys-spend">
      <span>
        {formatUsd(k.spend_usd)} of {formatUsd(k.budget_usd ?? 0)}
      </span>
      <progress
        max={1}
        value={share}
        aria-label={`${k.name}: ${Math.round(share * 100)}% of the budget spent`}
      />
    </div>
  );
}

export function GatewayKeys() {
  const qc = useQueryClient();
  const keys = useQuery({
    queryKey: ["gateway-keys"],
    queryFn: () => unwrap(api.GET("/api/gateway-keys/", { params: { query: { limit: 100 } } })),
  });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [revoking, setRevoking] = useState<GatewayKey | null>(null);
  const [editing, setEditing] = useState<GatewayKey | null>(null);
  const revoke = useMutation({
    mutationFn: async (k: GatewayKey) => {
      const res = await api.DELETE("/api/gateway-keys/{key_id}", {
        params: { path: { key_id: k.id } },
      });
      if (!res.response.ok) await unwrap(Promise.resolve(res));
    },
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["gateway-keys"] });
      toast("Key revoked");
      setRevoking(null);
    },
  });

  const teams = useTeams();
  const teamNames = new Map((teams.data ?? []).map((t) => [t.id, t.name]));
  const list = keys.data ?? [];
  return (
    <div className="stack">
      <div className="row">
        <p className="muted grow">
          Keys for your programs and tools to call aihub's OpenAI- and Anthropic-compatible API at{" "}
          <code>/v1</code>.
        </p>
        <Button variant="primary" onClick={() => setCreating(true)}>
          Create gateway key
        </Button>
      </div>
      {keys.isLoading ? <Spinner label="Loading gateway keys" /> : null}
      {keys.error ? (
        <p className="form-error" role="alert">
          {keys.error.message}
        </p>
      ) : null}
      {keys.data && list.length === 0 ? (
        <EmptyState title="No gateway keys yet">
          <p>Create one for a script, an IDE plugin or any OpenAI SDK.</p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="keys-table-wrap">
          <table className="keys-table">
            <caption className="sr-only">Your gateway keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Models</th>
                <th scope="col">Limits</th>
                <th scope="col">Spend</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => {
                const state = gatewayState(k);
                return (
                  <tr key={k.id} className={state !== "active" ? "keys-inactive" : undefined}>
                    <th scope="row">
                      {k.name}
                      {k.team_id != null ? (
                        <div className="muted keys-detail">
                          team {teamNames.get(k.team_id) ?? k.team_id}
                        </div>
                      ) : null}
                    </th>
                    <td>
                      <code>{k.key_prefix}…</code>
                    </td>
                    <td>{k.models.length ? k.models.join(", ") : "all"}</td>
                    <td>
                      <Limits k={k} />
                    </td>
                    <td>
                      <Spend k={k} />
                    </td>
                    <td>
                      <span className={`health health-${state === "active" ? "ok" : "off"}`}>
                        {state === "active"
                          ? k.expires_at
                            ? `Active until ${new Date(k.expires_at).toLocaleDateString()}`
                            : "Active"
                          : state === "revoked"
                            ? "Revoked"
                            : "Expired"}
                      </span>
                      <div className="muted keys-detail">
                        {k.last_used_at
                          ? `used ${new Date(k.last_used_at).toLocaleString()}`
                          : "never used"}
                      </div>
                    </td>
                    <td className="keys-actions">
                      {state === "active" ? (
                        <Button
                          variant="ghost"
                          onClick={() => setEditing(k)}
                          aria-label={`Edit ${k.name}`}
                        >
                          Edit
                        </Button>
                      ) : null}
                      {state === "revoked" ? null : (
                        <Button
                          variant="ghost"
                          onClick={() => setRevoking(k)}
                          aria-label={`Revoke ${k.name}`}
                        >
                          Revoke
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <Dialog open={creating} title="Create a gateway key" onClose={() => setCreating(false)}>
        {creating ? (
          <KeyForm
            onCancel={() => setCreating(false)}
            onCreated={(k) => {
              setCreating(false);
              setCreated(k);
            }}
          />
        ) : null}
      </Dialog>
      <Dialog
        open={editing !== null}
        title={`Edit ${editing?.name ?? "key"}`}
        onClose={() => setEditing(null)}
      >
        {editing ? (
          <KeyForm
            editing={editing}
            onCancel={() => setEditing(null)}
            onSaved={() => {
              setEditing(null);
              toast("Key saved");
            }}
          />
        ) : null}
      </Dialog>
      <SecretDialog created={created} onClose={() => setCreated(null)} />
      <Dialog open={revoking !== null} title="Revoke this key?" onClose={() => setRevoking(null)}>
        <p>
          Programs using {revoking?.name} ({revoking?.key_prefix}…) will be refused from now on.
          This cannot be undone.
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
            Revoke key
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
