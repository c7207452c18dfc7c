/** Keys: the user's provider keys and gateway keys. */
import { GatewayKeys } from "./GatewayKeys";
import { ProviderKeys } from "./ProviderKeys";
import "./keys.css";

export default function KeysPage() {
  return (
    <section className="page keys-page" aria-labelledby="keys-h">
      <h1 id="keys-h">Keys</h1>
      <section aria-labelledby="keys-provider-h" className="keys-section">
        <h2 id="keys-provider-h">Provider keys</h2>
        <ProviderKeys scope="user" />
      </section>
      <section aria-labelledby="keys-gateway-h" className="keys-section">
        <h2 id="keys-gateway-h">Gateway keys</h2>
        <GatewayKeys />
      </section>
    </section>
  );
}
