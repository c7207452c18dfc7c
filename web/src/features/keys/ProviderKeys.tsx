/**
 * Provider keys: the user's own (/api/api-keys/) or, for administrators, the
 * global ones every user falls back on (/api/admin/api-keys/). Keys come back
 * masked; health is ok, resting until a time (rate limited), or invalid.
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
import {
  isBedrockKey,
  keyHealth,
  NEEDS_BASE_URL,
  PROVIDERS,
  type ProviderKey,
  presetFill,
  providerLabel,
} from "./model";

export type KeyScope = "user" | "global";

function listKeys(scope: KeyScope) {
  return scope === "user"
    ? unwrap(api.GET("/api/api-keys/", { params: { query: { limit: 100 } } }))
    : unwrap(api.GET("/api/admin/api-keys/", { params: { query: { limit: 100 } } }));
}

type Body = {
  provider?: ProviderKey["provider"];
  preset?: string;
  api_key?: string;
  name?: string | null;
  is_active?: boolean;
  base_url?: string | null;
  settings?: Record<string, unknown> | null;
};

function createKey(scope: KeyScope, body: Body) {
  const b = body as Schemas["ProviderKeyCreate"];
  return scope === "user"
    ? unwrap(api.POST("/api/api-keys/", { body: b }))
    : unwrap(api.POST("/api/admin/api-keys/", { body: b }));
}

function updateKey(scope: KeyScope, id: number, body: Body) {
  const b = body as Schemas["ProviderKeyUpdate"];
  const params = { path: { key_id: id } };
  return scope === "user"
    ? unwrap(api.PUT("/api/api-keys/{key_id}", { params, body: b }))
    : unwrap(api.PUT("/api/admin/api-keys/{key_id}", { params, body: b }));
}

async function deleteKey(scope: KeyScope, id: number) {
  const params = { path: { key_id: id } };
  const res =
    scope === "user"
      ? await api.DELETE("/api/api-keys/{key_id}", { params })
      : await api.DELETE("/api/admin/api-keys/{key_id}", { params });
  if (!res.response.ok) await unwrap(Promise.resolve(res));
}

/** "model=deployment" per line -> an object (Azure). */
function parseDeployments(text: string): Record<string, string> | "invalid" {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t) continue;
    const [model, dep] = t.split("=").map((s) => s.trim());
    if (!model || !dep) return "invalid";
    out[model] = dep;
  }
  return out;
}

function KeyForm({
  scope,
  editing,
  onDone,
}: {
  scope: KeyScope;
  editing: ProviderKey | null;
  onDone: () => void;
}) {
  const qc = useQueryClient();
  const settings = (editing?.settings ?? {}) as Record<string, unknown>;
  const [provider, setProvider] = useState<string>(editing?.provider ?? "openai");
  const [name, setName] = useState(editing?.name ?? "");
  const [apiKey, setApiKey] = useState("");
  const [baseUrl, setBaseUrl] = useState(editing?.base_url ?? "");
  const [active, setActive] = useState(editing?.is_active ?? true);
  const [apiVersion, setApiVersion] = useState(String(settings.api_version ?? ""));
  const [deployments, setDeployments] = useState(
    Object.entries((settings.deployments as Record<string, string> | undefined) ?? {})
      .map(([m, d]) => `${m}=${d}`)
      .join("\n"),
  );
  const [region, setRegion] = useState(String(settings.region ?? ""));
  const [preset, setPreset] = useState("");
  const [error, setError] = useState<string | null>(null);
  const providerId = useId();
  const presetId = useId();
  const deploymentsId = useId();
  const presets = useQuery({
    queryKey: ["keys", "presets"],
    queryFn: () => unwrap(api.GET("/api/api-keys/presets")),
    staleTime: Number.POSITIVE_INFINITY,
    enabled: !editing,
  });
  const chosen =
    provider === "openai_compatible" ? presets.data?.find((p) => p.id === preset) : undefined;
  const keyOptional = Boolean(chosen && !chosen.key_required);

  function choosePreset(id: string) {
    setPreset(id);
    const found = presets.data?.find((p) => p.id === id);
    if (!found) return;
    const fill = presetFill(found, name);
    setBaseUrl(fill.baseUrl);
    setName(fill.name);
  }

  const save = useMutation({
    mutationFn: (body: Body) =>
      editing ? updateKey(scope, editing.id, body) : createKey(scope, body),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: scope === "user" ? ["keys"] : ["keys", "global"] });
      qc.invalidateQueries({ queryKey: ["models"] });
      toast(editing ? "Key saved" : "Key added");
      onDone();
    },
    onError: (e: Error) => setError(e.message),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!editing && !apiKey.trim() && !keyOptional) return setError("Enter the key.");
    if (provider === "bedrock" && apiKey.trim() && !isBedrockKey(apiKey))
      return setError("A Bedrock key is ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN].");
    if (NEEDS_BASE_URL.has(provider) && !baseUrl.trim())
      return setError("This provider needs a base URL.");
    const body: Body = {
      provider: provider as Body["provider"],
      name: name.trim() || null,
      is_active: active,
    };
    if (apiKey.trim()) body.api_key = apiKey.trim();
    if (chosen) body.preset = chosen.id;
    body.base_url = baseUrl.trim() || null;
    if (provider === "bedrock") {
      const s: Record<string, unknown> = { ...settings };
      if (region.trim()) s.region = region.trim();
      else delete s.region;
      body.settings = s;
    }
    if (provider === "azure") {
      const deps = parseDeployments(deployments);
      if (deps === "invalid") return setError("Deployments: one model=deployment per line.");
      const s: Record<string, unknown> = { ...settings, deployments: deps };
      if (apiVersion.trim()) s.api_version = apiVersion.trim();
      else delete s.api_version;
      body.settings = s;
    }
    save.mutate(body);
  }

  return (
    <form className="stack" onSubmit={submit}>
      <div className="field">
        <label htmlFor={providerId}>Provider</label>
        <select id={providerId} value={provider} onChange={(e) => setProvider(e.target.value)}>
          {PROVIDERS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      {provider === "openai_compatible" && !editing && presets.data?.length ? (
        <div className="field">
          <label htmlFor={presetId}>Preset</label>
          <select id={presetId} value={preset} onChange={(e) => choosePreset(e.target.value)}>
            <option value="">None (type the base URL)</option>
            {presets.data.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <Field
        label="Name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        placeholder="e.g. main"
        maxLength={200}
      />
      <Field
        label={
          editing
            ? "New key (leave blank to keep the current one)"
            : keyOptional
              ? "Key (optional: this server needs none)"
              : "Key"
        }
        type="password"
        autoComplete="off"
        value={apiKey}
        onChange={(e) => setApiKey(e.target.value)}
        required={!editing && !keyOptional}
        hint={
          provider === "bedrock"
            ? "ACCESS_KEY_ID:SECRET_ACCESS_KEY, or :SESSION_TOKEN added for temporary credentials."
            : undefined
        }
      />
      <Field
        label={NEEDS_BASE_URL.has(provider) ? "Base URL" : "Base URL (optional)"}
        type="url"
        value={baseUrl}
        onChange={(e) => setBaseUrl(e.target.value)}
        placeholder={provider === "azure" ? "https://my-resource.openai.azure.com" : "https://…"}
        hint={
          provider === "openai_compatible"
            ? "Ollama, vLLM, llama.cpp, LM Studio, OpenRouter…"
            : undefined
        }
      />
      {provider === "bedrock" ? (
        <Field
          label="Region"
          value={region}
          onChange={(e) => setRegion(e.target.value)}
          placeholder="us-east-1"
        />
      ) : null}
      {provider === "azure" ? (
        <>
          <Field
            label="API version"
            value={apiVersion}
            onChange={(e) => setApiVersion(e.target.value)}
            placeholder="2024-10-21"
          />
          <div className="field">
            <label htmlFor={deploymentsId}>Deployments (model=deployment, one per line)</label>
            <textarea
              id={deploymentsId}
              rows={3}
              value={deployments}
              onChange={(e) => setDeployments(e.target.value)}
            />
          </div>
        </>
      ) : null}
      <label className="row">
        <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
        In use (rotated with the provider's other keys)
      </label>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="row end">
        <Button onClick={onDone}>Cancel</Button>
        <Button type="submit" variant="primary" busy={save.isPending}>
          {editing ? "Save key" : "Add key"}
        </Button>
      </div>
    </form>
  );
}

/** Global keys the user's calls may fall back on, with their pool status. */
function SharedKeys() {
  const status = useQuery({
    queryKey: ["keys", "pools"],
    queryFn: () => unwrap(api.GET("/api/status")),
    staleTime: 30_000,
  });
  const shared = (status.data?.accounts ?? []).filter((a) => a.is_global);
  if (!shared.length) return null;
  return (
    <div className="keys-shared">
      <h3>Shared by your administrators</h3>
      <ul>
        {shared.map((a) => {
          const h = keyHealth({
            is_active: true,
            status: a.status === "OK" ? "ok" : a.status === "WAIT" ? "cooldown" : "invalid",
            cooldown_until: a.until ?? null,
            last_error: a.last_error ?? null,
          });
          return (
            <li key={a.id}>
              {providerLabel(a.provider)}
              {a.name ? ` (${a.name})` : ""}{" "}
              <span className={`health health-${h.tone}`}>{h.label}</span>
            </li>
          );
        })}
      </ul>
      <p className="muted">Used when you have no key of your own for that provider.</p>
    </div>
  );
}

export function ProviderKeys({ scope }: { scope: KeyScope }) {
  const qc = useQueryClient();
  const queryKey = scope === "user" ? ["keys"] : ["keys", "global"];
  const keys = useQuery({ queryKey, queryFn: () => listKeys(scope) });
  const [dialog, setDialog] = useState<{ editing: ProviderKey | null } | null>(null);
  const [deleting, setDeleting] = useState<ProviderKey | null>(null);
  const remove = useMutation({
    mutationFn: (k: ProviderKey) => deleteKey(scope, k.id),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey });
      qc.invalidateQueries({ queryKey: ["models"] });
      toast("Key deleted");
      setDeleting(null);
    },
  });
  const noun = scope === "user" ? "provider key" : "global key";
  const list = (keys.data ?? []).filter((k) => (scope === "user" ? !k.is_global : true));

  return (
    <div className="stack">
      <div className="row">
        <p className="muted grow">
          {scope === "user"
            ? "Your own keys for the AI providers. They are stored encrypted and shown masked."
            : "Keys every user may fall back on when they have none of their own for a provider."}
        </p>
        <Button variant="primary" onClick={() => setDialog({ editing: null })}>
          Add {noun}
        </Button>
      </div>
      {scope === "user" ? <SharedKeys /> : null}
      {keys.isLoading ? <Spinner label="Loading keys" /> : null}
      {keys.error ? (
        <p className="form-error" role="alert">
          {keys.error.message}
        </p>
      ) : null}
      {keys.data && list.length === 0 ? (
        <EmptyState title={scope === "user" ? "No provider keys yet" : "No global keys yet"}>
          <p>
            Add a key from OpenAI, Anthropic, Azure, Qwen, SuperDuperAI or any OpenAI-compatible
            server.
          </p>
        </EmptyState>
      ) : null}
      {list.length ? (
        <div className="keys-table-wrap">
          <table className="keys-table">
            <caption className="sr-only">
              {scope === "user" ? "Your provider keys" : "Global provider keys"}
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Provider</th>
                <th scope="col">Key</th>
                <th scope="col">Health</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((k) => {
                const h = keyHealth(k);
                const label = k.name || providerLabel(k.provider);
                return (
                  <tr key={k.id}>
                    <th scope="row">{label}</th>
                    <td>
                      {providerLabel(k.provider)}
                      {k.base_url ? <div className="muted keys-url">{k.base_url}</div> : null}
                    </td>
                    <td>
                      <code>{k.api_key}</code>
                    </td>
                    <td>
                      <span className={`health health-${h.tone}`}>{h.label}</span>
                      {h.detail ? <div className="muted keys-detail">{h.detail}</div> : null}
                    </td>
                    <td>{k.last_used_at ? new Date(k.last_used_at).toLocaleString() : "never"}</td>
                    <td className="keys-actions">
                      <Button
                        variant="ghost"
                        onClick={() => setDialog({ editing: k })}
                        aria-label={`Edit ${label}`}
                      >
                        Edit
                      </Button>
                      <Button
                        variant="ghost"
                        onClick={() => setDeleting(k)}
                        aria-label={`Delete ${label}`}
                      >
                        Delete
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
        open={dialog !== null}
        title={dialog?.editing ? `Edit ${noun}` : `Add ${noun}`}
        onClose={() => setDialog(null)}
      >
        {dialog ? (
          <KeyForm scope={scope} editing={dialog.editing} onDone={() => setDialog(null)} />
        ) : null}
      </Dialog>
      <Dialog open={deleting !== null} title={`Delete ${noun}?`} onClose={() => setDeleting(null)}>
        <p>
          {deleting?.name || (deleting ? providerLabel(deleting.provider) : "")} (
          {deleting?.api_key}) will no longer be used. This cannot be undone.
        </p>
        {remove.error ? (
          <p className="form-error" role="alert">
            {remove.error.message}
          </p>
        ) : null}
        <div className="row end">
          <Button onClick={() => setDeleting(null)}>Cancel</Button>
          <Button
            variant="danger"
            busy={remove.isPending}
            onClick={() => deleting && remove.mutate(deleting)}
          >
            Delete key
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
