/** Placeholder created by the shell scaffold; the owner of this feature replaces it. */
export default function MediaPage() {
  return (
    <section className="page">
      <h1>Media</h1>
      <p>Coming soon.</p>
    </section>
  );
}
