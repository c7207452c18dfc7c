import { useQuery } from "@tanstack/react-query";
import { NavLink } from "react-router";
import { api, unwrap } from "../../api/client";

export function ThreadList() {
  const params = { is_archived: false, limit: 200 };
  const threads = useQuery({
    queryKey: ["threads", params],
    queryFn: () => unwrap(api.GET("/api/threads/", { params: { query: params } })),
  });
  return (
    <nav className="thread-list" aria-label="Threads">
      <ul>
        {(threads.data ?? []).map((t) => (
          <li key={t.id}>
            <NavLink to={`/c/${t.id}`}>{t.title}</NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
