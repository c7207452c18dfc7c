/** Placeholder created by the shell scaffold; the owner of this feature replaces it. */
export default function UsagePage() {
  return (
    <section className="page">
      <h1>Usage</h1>
      <p>Coming soon.</p>
    </section>
  );
}
