/**
 * Administration (admins only): users and roles, global provider keys, every
 * request, the audit log, system status. Sections are sub-routes of /admin.
 */
import { Link, useParams } from "react-router";
import { useAuth } from "../auth";
import { ProviderKeys } from "../keys/ProviderKeys";
import { AuditPanel } from "./AuditPanel";
import { RequestsPanel } from "./RequestsPanel";
import { StatusPanel } from "./StatusPanel";
import { UsersPanel } from "./UsersPanel";
import "../keys/keys.css";
import "./admin.css";

const SECTIONS = [
  { path: "users", label: "Users" },
  { path: "keys", label: "Global keys" },
  { path: "requests", label: "Requests" },
  { path: "audit", label: "Audit log" },
  { path: "status", label: "System status" },
] as const;

export default function AdminPage() {
  const { user, loading } = useAuth();
  const params = useParams();
  const section = SECTIONS.find((s) => s.path === (params["*"] ?? "").split("/")[0]) ?? SECTIONS[0];

  if (loading) return null;
  if (user?.role !== "admin") {
    return (
      <section className="page" aria-labelledby="admin-h">
        <h1 id="admin-h">Administration</h1>
        <p>
          This area is for administrators. Ask one of them if you need a change to users or shared
          keys.
        </p>
      </section>
    );
  }

  return (
    <section className="page admin-page" aria-labelledby="admin-h">
      <h1 id="admin-h">Administration</h1>
      <nav aria-label="Administration sections" className="admin-nav">
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.path}>
              <Link
                to={`/admin/${s.path}`}
                className={s === section ? "active" : undefined}
                aria-current={s === section ? "page" : undefined}
              >
                {s.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <section aria-labelledby="admin-section-h" className="admin-section">
        <h2 id="admin-section-h">{section.label}</h2>
        {section.path === "users" ? <UsersPanel currentUserId={user.id} /> : null}
        {section.path === "keys" ? <ProviderKeys scope="global" /> : null}
        {section.path === "requests" ? <RequestsPanel /> : null}
        {section.path === "audit" ? <AuditPanel /> : null}
        {section.path === "status" ? <StatusPanel /> : null}
      </section>
    </section>
  );
}
