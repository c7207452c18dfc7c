import { Link } from "react-router";
import { EmptyState } from "../ui/EmptyState";

export default function NotFound() {
  return (
    <section className="page">
      <EmptyState title="Page not found" action={<Link to="/">Back to chat</Link>}>
        <p>There is nothing at this address.</p>
      </EmptyState>
    </section>
  );
}
