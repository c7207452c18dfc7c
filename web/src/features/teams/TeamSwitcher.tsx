/**
 * The sidebar's team switcher: the user's teams, each linking to its page.
 * Shown only to members of a team (administrators see every team on /teams).
 */
import { NavLink } from "react-router";
import { useTeams } from "./hooks";
import "./teams.css";

const SHOWN = 6;

export function TeamSwitcher() {
  const teams = useTeams();
  const mine = (teams.data ?? []).filter((t) => t.role != null);
  if (!mine.length) return null;
  return (
    <nav className="pages-nav team-nav" aria-labelledby="team-nav-h">
      <h2 id="team-nav-h">Your teams</h2>
      <ul>
        {mine.slice(0, SHOWN).map((t) => (
          <li key={t.id}>
            <NavLink to={`/teams/${t.id}`}>{t.name}</NavLink>
          </li>
        ))}
        {mine.length > SHOWN ? (
          <li>
            <NavLink to="/teams" end>
              All {mine.length} teams…
            </NavLink>
          </li>
        ) : null}
      </ul>
    </nav>
  );
}
