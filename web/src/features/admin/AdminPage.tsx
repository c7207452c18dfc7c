/** Placeholder created by the shell scaffold; the owner of this feature replaces it. */
export default function AdminPage() {
  return (
    <section className="page">
      <h1>Admin</h1>
      <p>Coming soon.</p>
    </section>
  );
}
