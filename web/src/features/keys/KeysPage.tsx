/** Placeholder created by the shell scaffold; the owner of this feature replaces it. */
export default function KeysPage() {
  return (
    <section className="page">
      <h1>Keys</h1>
      <p>Coming soon.</p>
    </section>
  );
}
