/**
 * System status from what the server exposes: /ready (database, Redis),
 * /api/status (provider key pools), /api/v1/status (voice engines, live
 * sessions, latency).
 */
import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { Spinner } from "../../ui/Spinner";

type Ready = { status: string; checks: Record<string, string> };

async function readiness(): Promise<Ready> {
  const res = await fetch("/ready", { headers: { Accept: "application/json" } });
  // 503 still carries the checks
  return (await res.json()) as Ready;
}

function Tone({ ok, children }: { ok: boolean; children: string }) {
  return <span className={`health health-${ok ? "ok" : "bad"}`}>{children}</span>;
}

export function StatusPanel() {
  const ready = useQuery({
    queryKey: ["admin", "ready"],
    queryFn: readiness,
    refetchInterval: 15_000,
  });
  const pools = useQuery({
    queryKey: ["admin", "pools"],
    queryFn: () => unwrap(api.GET("/api/status")),
    refetchInterval: 15_000,
  });
  const voice = useQuery({
    queryKey: ["admin", "voice"],
    queryFn: () => unwrap(api.GET("/api/v1/status")),
    refetchInterval: 15_000,
  });

  const refresh = () => {
    void ready.refetch();
    void pools.refetch();
    void voice.refetch();
  };

  return (
    <div className="stack">
      <div className="row end">
        <Button onClick={refresh}>Refresh status</Button>
      </div>
      <section aria-labelledby="admin-infra-h" className="admin-card">
        <h3 id="admin-infra-h">Database and Redis</h3>
        {ready.isLoading ? <Spinner label="Checking" /> : null}
        {ready.error ? (
          <p className="form-error">Readiness check failed: {ready.error.message}</p>
        ) : null}
        {ready.data ? (
          <dl className="admin-dl">
            <dt>Overall</dt>
            <dd>
              <Tone ok={ready.data.status === "ok"}>{ready.data.status}</Tone>
            </dd>
            <dt>Database</dt>
            <dd>
              <Tone ok={ready.data.checks.database === "ok"}>
                {ready.data.checks.database ?? "unknown"}
              </Tone>
            </dd>
            <dt>Redis</dt>
            <dd>
              {ready.data.checks.redis ? (
                <Tone ok={ready.data.checks.redis === "ok"}>{ready.data.checks.redis}</Tone>
              ) : (
                <span className="muted">
                  not configured: events, queues and limits run in this process
                </span>
              )}
            </dd>
          </dl>
        ) : null}
      </section>

      <section aria-labelledby="admin-pools-h" className="admin-card">
        <h3 id="admin-pools-h">Provider key pools</h3>
        {pools.isLoading ? <Spinner label="Loading pools" /> : null}
        {pools.error ? <p className="form-error">{pools.error.message}</p> : null}
        {pools.data ? (
          Object.keys(pools.data.providers).length ? (
            <table className="keys-table">
              <caption className="sr-only">Key pools per provider</caption>
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">Status</th>
                  <th scope="col">Keys ok</th>
                  <th scope="col">Resting</th>
                  <th scope="col">Invalid</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(pools.data.providers).map(([name, p]) => (
                  <tr key={name}>
                    <th scope="row">{name}</th>
                    <td>
                      <span
                        className={`health health-${p.status === "OK" ? "ok" : p.status === "WAIT" ? "warn" : "bad"}`}
                      >
                        {p.status === "WAIT" && p.until
                          ? `waiting until ${new Date(p.until).toLocaleTimeString()}`
                          : p.status}
                      </span>
                    </td>
                    <td>{p.ok}</td>
                    <td>{p.wait}</td>
                    <td>{p.invalid}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No provider keys are configured.</p>
          )
        ) : null}
      </section>

      <section aria-labelledby="admin-voice-h" className="admin-card">
        <h3 id="admin-voice-h">Voice</h3>
        {voice.isLoading ? <Spinner label="Loading voice status" /> : null}
        {voice.error ? <p className="form-error">{voice.error.message}</p> : null}
        {voice.data ? (
          <>
            <dl className="admin-dl">
              <dt>Status</dt>
              <dd>
                <Tone ok={voice.data.status === "ok"}>{voice.data.status}</Tone>
              </dd>
              <dt>Live sessions</dt>
              <dd>
                {voice.data.active_sessions} ({voice.data.connections} sockets on this process)
              </dd>
              <dt>Turns in the last hour</dt>
              <dd>{voice.data.turns}</dd>
              <dt>Response time p50 / p90</dt>
              <dd>
                {fmtMs(voice.data.latency_ms.response_ms?.p50)} /{" "}
                {fmtMs(voice.data.latency_ms.response_ms?.p90)}
              </dd>
            </dl>
            <p className="admin-engines">
              {Object.entries(voice.data.engines).flatMap(([role, engines]) =>
                Object.entries(engines).map(([name, on]) => (
                  <span key={`${role}-${name}`} className={`health health-${on ? "ok" : "off"}`}>
                    {role} {name}: {on ? "installed" : "missing"}
                  </span>
                )),
              )}
            </p>
          </>
        ) : null}
      </section>
    </div>
  );
}

function fmtMs(v: number | null | undefined): string {
  return typeof v === "number" ? `${Math.round(v)} ms` : "–";
}
