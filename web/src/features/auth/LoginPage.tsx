import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { Link, Navigate, useLocation, useNavigate, useSearchParams } from "react-router";
import { useSession } from "../../api/session";
import { Button } from "../../ui/Button";
import { Field } from "../../ui/Field";
import {
  finishSsoSignIn,
  listProviders,
  providerLoginUrl,
  rememberSsoNext,
  signIn,
  ssoNext,
} from "./signIn";

/** Only same-app paths are followed after sign-in (no open redirect). */
export function safeNext(next: string | null): string {
  return next?.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export default function LoginPage() {
  const [params] = useSearchParams();
  const location = useLocation();
  // back from single sign-on, ?next= is gone: the page remembered before it
  const [next] = useState(() => {
    const asked = safeNext(params.get("next"));
    return asked === "/" && location.hash === "#sso=ok" ? safeNext(ssoNext()) : asked;
  });
  const token = useSession((s) => s.token);
  const navigate = useNavigate();
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const providers = useQuery({
    queryKey: ["auth-providers"],
    queryFn: listProviders,
    staleTime: 10 * 60_000,
  });

  // Back from single sign-on: the refresh cookie is set; get the access token.
  useEffect(() => {
    if (location.hash !== "#sso=ok") return;
    window.history.replaceState(null, "", location.pathname + location.search);
    finishSsoSignIn()
      .then(() => {
        ssoNext(true);
        navigate(next, { replace: true });
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [location.hash, location.pathname, location.search, navigate, next]);

  if (token) return <Navigate to={next} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(login, password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand" aria-hidden="true">
          ◆ aihub
        </div>
        <h1 id="signin-title">Sign in</h1>
        <Field
          label="Username or email"
          name="username"
          autoComplete="username"
          value={login}
          onChange={(e) => setLogin(e.target.value)}
          required
          autoFocus
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <Button type="submit" variant="primary" busy={busy}>
          Sign in
        </Button>
        {providers.data && providers.data.length > 0 ? (
          <nav className="auth-providers" aria-label="Sign in with">
            {providers.data.map((p) => (
              <a
                key={p.name}
                className="btn btn-ghost"
                href={providerLoginUrl(p.name)}
                onClick={() => rememberSsoNext(next)}
              >
                Sign in with {p.label}
              </a>
            ))}
          </nav>
        ) : null}
        <p className="auth-alt">
          No account yet?{" "}
          <Link to={next === "/" ? "/register" : `/register?next=${encodeURIComponent(next)}`}>
            Create an account
          </Link>
        </p>
      </form>
    </main>
  );
}
