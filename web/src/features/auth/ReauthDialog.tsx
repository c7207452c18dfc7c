/**
 * Shown over the current screen when the session expires (a 401 on any call).
 * Nothing navigates: the page underneath keeps its state (and the composer
 * its text); the calls that failed are retried once the user signs in.
 */
import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { clearToken, useSession } from "../../api/session";
import { Button } from "../../ui/Button";
import { Dialog } from "../../ui/Dialog";
import { Field } from "../../ui/Field";
import { signIn } from "./signIn";

export function ReauthDialog() {
  const expired = useSession((s) => s.expired);
  const qc = useQueryClient();
  const me = qc.getQueryData<{ username?: string; email?: string }>(["me"]);
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const who = (login || me?.username || "").trim();
      await signIn(who, password);
      setPassword("");
      // Someone else signed in: nothing cached for the previous user may show.
      if (me && who !== me.username && who !== me.email) qc.clear();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog
      open={expired}
      title="Session expired"
      description="Sign in again to carry on. Nothing on this page is lost."
      onClose={() => undefined}
      dismissable={false}
    >
      <form onSubmit={submit} className="stack">
        <Field
          label="Username or email"
          name="username"
          autoComplete="username"
          value={login || me?.username || ""}
          onChange={(e) => setLogin(e.target.value)}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          data-autofocus
        />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="row end">
          <Button
            variant="ghost"
            onClick={() => {
              clearToken();
              qc.clear();
            }}
          >
            Sign out
          </Button>
          <Button type="submit" variant="primary" busy={busy}>
            Sign in again
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
