/** The left column: new chat, thread list, page links, user menu. */
import { NavLink, useMatch, useNavigate } from "react-router";
import { useUi } from "../../store/ui";
import { IconButton } from "../../ui/Button";
import { CloseIcon, DotsIcon, PlusIcon } from "../../ui/icons";
import { Menu } from "../../ui/Menu";
import { useAuth } from "../auth/useAuth";
import { TeamSwitcher } from "../teams/TeamSwitcher";
import { ThreadList } from "./ThreadList";

const PAGES: { to: string; label: string; admin?: boolean }[] = [
  { to: "/prompts", label: "Prompts" },
  { to: "/media", label: "Media" },
  { to: "/voice", label: "Voice" },
  { to: "/usage", label: "Usage" },
  { to: "/keys", label: "Keys" },
  { to: "/teams", label: "Teams" },
  { to: "/admin", label: "Admin", admin: true },
];

export function Sidebar() {
  const { user, signOut } = useAuth();
  const navigate = useNavigate();
  const setSidebarOpen = useUi((s) => s.setSidebarOpen);
  const home = useMatch("/");
  const thread = useMatch("/c/:threadId");
  const onChat = Boolean(home || thread);

  return (
    <aside id="sidebar" className="sidebar" aria-label="Sidebar">
      <div className="sidebar-head">
        <NavLink to="/" className="brand" aria-label="aihub home">
          <span aria-hidden="true">◆</span> aihub
        </NavLink>
        <div className="row">
          <IconButton label="New chat" icon={<PlusIcon />} onClick={() => navigate("/")} />
          <IconButton
            label="Close sidebar"
            icon={<CloseIcon />}
            onClick={() => setSidebarOpen(false)}
            aria-expanded={true}
            aria-controls="sidebar"
          />
        </div>
      </div>
      <ThreadList />
      <nav className="pages-nav" aria-label="Pages">
        <ul>
          {PAGES.filter((p) => !p.admin || user?.role === "admin").map((p) => (
            <li key={p.to}>
              <NavLink to={p.to}>{p.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className="team-slot" data-slot="team-switcher">
        <TeamSwitcher />
      </div>
      <div className="user-box">
        <span className="user-name" title={user?.email}>
          {user?.username ?? "…"}
          {user?.role === "admin" ? <span className="badge">admin</span> : null}
        </span>
        <Menu
          label="User menu"
          icon={<DotsIcon />}
          items={[
            { label: "Account and sessions", onSelect: () => navigate("/account") },
            {
              label: "Keyboard shortcuts",
              // the help sheet lives on the chat screen
              onSelect: () => {
                if (!onChat) navigate("/");
                useUi.getState().setShortcutsHelpOpen(true);
              },
            },
            {
              label: "Sign out",
              onSelect: () => {
                signOut();
                navigate("/login", { replace: true });
              },
            },
          ]}
        />
      </div>
    </aside>
  );
}
