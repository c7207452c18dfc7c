/** Said instead of an empty model picker: why there is no model, and what to do. */
import { Link } from "react-router";
import { useAuth } from "../auth/useAuth";
import { noModelReason, type ProviderStatus } from "../models/lib";

export function NoModelsNotice({
  status,
  compact = false,
}: {
  status: ProviderStatus | undefined;
  compact?: boolean;
}) {
  const { user } = useAuth();
  const admin = user?.role === "admin";
  const reason = noModelReason(status);
  const why =
    reason === "all-invalid"
      ? "Every provider key this hub could use was rejected by its provider (revoked or mistyped)."
      : "This hub has no provider key you can use yet, so no model can answer.";

  if (compact) {
    return (
      <div className="no-models compact" role="status">
        No model available.{" "}
        {admin ? (
          <Link to="/setup">Add a provider key</Link>
        ) : (
          <Link to="/keys">Add your own key</Link>
        )}{" "}
        {admin ? null : "or ask your administrator."}
      </div>
    );
  }
  return (
    <section className="no-models" aria-labelledby="no-models-title">
      <h2 id="no-models-title">No model is available to you</h2>
      <p>{why}</p>
      {admin ? (
        <p>
          As the administrator you can add a key for everyone:{" "}
          <Link to="/setup">set up a provider</Link>.
        </p>
      ) : (
        <>
          <p>
            Ask your administrator to add a provider key for everyone (OpenAI, Anthropic, Azure,
            Qwen or an OpenAI-compatible server such as a local model), or tell them which provider
            you need.
          </p>
          <p>
            If you have a key of your own, you can add it yourself under{" "}
            <Link to="/keys">Keys</Link>.
          </p>
        </>
      )}
    </section>
  );
}
