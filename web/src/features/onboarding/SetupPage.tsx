/**
 * First run (administrators): add a global provider key, test it with one real
 * call, then go straight into a first chat.
 */
import "./onboarding.css";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import { useNavigate } from "react-router";
import { api, type Schemas, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Field } from "../../ui/Field";
import { Spinner } from "../../ui/Spinner";
import { useAuth } from "../auth/useAuth";
import { useAvailableModels, useProviderStatus } from "../models/hooks";
import { providerName } from "../models/lib";
import { NoModelsNotice } from "./NoModelsNotice";
import { keyFormErrors, PROVIDER_CHOICES, type ProviderId, testPrompt } from "./setup";

type Key = Schemas["ProviderKeyRead"];
type TestResult =
  | { ok: true; text: string; ms: number; model: string }
  | { ok: false; error: string };

export default function SetupPage() {
  const { user } = useAuth();
  const status = useProviderStatus();
  if (!user) return <Spinner label="Loading" />;
  if (user.role !== "admin") {
    return (
      <section className="page">
        <h1>Set up aihub</h1>
        <NoModelsNotice status={status.data} />
      </section>
    );
  }
  return <AdminSetup />;
}

function useGlobalKeys() {
  return useQuery({
    queryKey: ["global-keys"],
    queryFn: () => unwrap(api.GET("/api/admin/api-keys/", { params: { query: { limit: 1000 } } })),
  });
}

function AdminSetup() {
  const keys = useGlobalKeys();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [tested, setTested] = useState<Record<number, TestResult>>({});
  const list = keys.data ?? [];
  const anyWorks = Object.values(tested).some((t) => t.ok);

  async function startChat() {
    await qc.invalidateQueries({ queryKey: ["models"] });
    navigate("/");
  }

  return (
    <section className="page setup" aria-labelledby="setup-title">
      <h1 id="setup-title">Set up aihub</h1>
      <p className="muted">
        aihub answers with the models of the providers it has keys for. Add one key for everyone on
        this hub, test it, and start chatting. Keys are stored encrypted and never shown again.
      </p>

      <ol className="steps">
        <li className="step">
          <h2>1. Add a provider key</h2>
          <AddKeyForm onAdded={() => keys.refetch()} />
        </li>

        <li className="step">
          <h2>2. Test it</h2>
          {keys.isLoading ? (
            <Spinner label="Loading keys" />
          ) : !list.length ? (
            <p className="muted">Add a key first.</p>
          ) : (
            <ul className="key-list" aria-label="Provider keys for everyone">
              {list.map((k) => (
                <KeyTest
                  key={k.id}
                  k={k}
                  result={tested[k.id]}
                  onResult={(r) => {
                    setTested((t) => ({ ...t, [k.id]: r }));
                    keys.refetch();
                    qc.invalidateQueries({ queryKey: ["models"] });
                  }}
                />
              ))}
            </ul>
          )}
        </li>

        <li className="step">
          <h2>3. Start chatting</h2>
          <p className="muted">
            {anyWorks
              ? "The key works. Your first chat is one click away."
              : "Once a test has passed (or if you trust the key), start your first chat."}
          </p>
          <Button variant="primary" onClick={startChat} disabled={!list.length}>
            Start your first chat
          </Button>
        </li>
      </ol>
    </section>
  );
}

function AddKeyForm({ onAdded }: { onAdded: (k: Key) => void }) {
  const [provider, setProvider] = useState<ProviderId>("openai");
  const [apiKey, setApiKey] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [name, setName] = useState("");
  const [touched, setTouched] = useState(false);
  const choice = PROVIDER_CHOICES.find((c) => c.id === provider) ?? PROVIDER_CHOICES[0];
  const errors = keyFormErrors({ provider, apiKey, baseUrl });
  const add = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/admin/api-keys/", {
          body: {
            provider,
            api_key: apiKey.trim(),
            base_url: baseUrl.trim() || null,
            name: name.trim() || null,
          },
        }),
      ),
    onSuccess: (k) => {
      setApiKey("");
      setTouched(false);
      onAdded(k);
    },
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (Object.keys(errors).length) return;
    add.mutate();
  }

  return (
    <form className="stack setup-form" onSubmit={submit} noValidate>
      <div className="field">
        <label htmlFor="setup-provider">Provider</label>
        <select
          id="setup-provider"
          value={provider}
          onChange={(e) => setProvider(e.target.value as ProviderId)}
        >
          {PROVIDER_CHOICES.map((c) => (
            <option key={c.id} value={c.id}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
      <Field
        label="API key"
        type="password"
        autoComplete="off"
        value={apiKey}
        onChange={(e) => setApiKey(e.target.value)}
        hint={choice?.keyHint}
        error={touched ? errors.apiKey : null}
      />
      <Field
        label={choice?.baseUrl === "required" ? "Base URL" : "Base URL (optional)"}
        type="url"
        inputMode="url"
        placeholder={choice?.baseUrl === "required" ? "https://…" : ""}
        value={baseUrl}
        onChange={(e) => setBaseUrl(e.target.value)}
        hint={choice?.baseUrlHint}
        error={touched ? errors.baseUrl : null}
      />
      <Field
        label="Name (optional)"
        value={name}
        onChange={(e) => setName(e.target.value)}
        maxLength={100}
      />
      {add.error ? (
        <p className="form-error" role="alert">
          {add.error.message}
        </p>
      ) : null}
      <div>
        <Button type="submit" variant="primary" busy={add.isPending}>
          Save key
        </Button>
      </div>
    </form>
  );
}

function KeyTest({
  k,
  result,
  onResult,
}: {
  k: Key;
  result: TestResult | undefined;
  onResult: (r: TestResult) => void;
}) {
  const models = useAvailableModels();
  const status = useProviderStatus();
  const choices = useMemo(
    () =>
      (models.data?.models ?? []).filter(
        (m) => m.provider === k.provider && (m.kind ?? "chat") === "chat",
      ),
    [models.data, k.provider],
  );
  const [model, setModel] = useState("");
  useEffect(() => {
    if (!model && choices[0]) setModel(choices[0].id);
  }, [choices, model]);
  const [busy, setBusy] = useState(false);

  async function test() {
    setBusy(true);
    const t0 = performance.now();
    try {
      const r = await unwrap(
        api.POST("/api/threads/completion", {
          body: {
            provider: k.provider,
            model: model.trim(),
            prompt: testPrompt(Math.random().toString(36).slice(2, 10)),
            max_tokens: 5,
            cache: false,
          },
        }),
      );
      onResult({ ok: true, text: r.text, ms: Math.round(performance.now() - t0), model: r.model });
    } catch (err) {
      onResult({ ok: false, error: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(false);
      status.refetch();
    }
  }

  const listId = `models-${k.id}`;
  return (
    <li className="key-card">
      <div className="row wrap">
        <strong>{k.name || providerName(k.provider)}</strong>
        <span className="muted">
          {providerName(k.provider)} · {k.api_key}
          {k.base_url ? ` · ${k.base_url}` : ""}
        </span>
        <span className={`health health-${k.status}`}>{k.status}</span>
      </div>
      <div className="row wrap key-test">
        <div className="field grow">
          <label htmlFor={`test-model-${k.id}`}>Model to test</label>
          <input
            id={`test-model-${k.id}`}
            list={listId}
            value={model}
            onChange={(e) => setModel(e.target.value)}
            placeholder="model id"
          />
          <datalist id={listId}>
            {choices.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </datalist>
        </div>
        <Button
          onClick={test}
          busy={busy}
          disabled={!model.trim()}
          aria-label={`Test ${k.name || providerName(k.provider)} key`}
        >
          Test
        </Button>
      </div>
      <div role="status" className="test-result">
        {result?.ok ? (
          <span className="ok">
            ✓ Works: {result.model} answered “{result.text.trim() || "(empty)"}” in {result.ms} ms.
          </span>
        ) : result ? (
          <span className="form-error">✗ Failed: {result.error}</span>
        ) : null}
      </div>
      {k.last_error && !result?.ok ? <p className="muted">Last error: {k.last_error}</p> : null}
    </li>
  );
}
