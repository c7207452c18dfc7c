/**
 * /invitations/:token (the link an invitation gives; /invite/:token too):
 * after sign-in (the layout sends visitors to /login and back here), the user
 * accepts and lands on the team's page.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { Button } from "../../ui/Button";
import { toast } from "../../ui/Toast";
import { useAuth } from "../auth/useAuth";

export default function InvitePage() {
  const { token = "" } = useParams();
  const { user } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const accept = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/invitations/{token}/accept", { params: { path: { token } } })),
    onSuccess: (m) => {
      qc.invalidateQueries({ queryKey: ["teams"] });
      toast("You joined the team");
      navigate(`/teams/${m.team_id}`, { replace: true });
    },
  });
  return (
    <section className="page" aria-labelledby="invite-h">
      <h1 id="invite-h">Team invitation</h1>
      <p>
        You were invited to join a team on this hub
        {user ? (
          <>
            {" "}
            as <strong>{user.username}</strong> ({user.email})
          </>
        ) : null}
        . Joining lets you use the team's models and gateway keys; your use counts toward the team's
        budget.
      </p>
      {accept.error ? (
        <p className="form-error" role="alert">
          {accept.error.message}
        </p>
      ) : null}
      <div className="row">
        <Button variant="primary" busy={accept.isPending} onClick={() => accept.mutate()}>
          Accept invitation
        </Button>
        <Link to="/teams">Not now</Link>
      </div>
    </section>
  );
}
