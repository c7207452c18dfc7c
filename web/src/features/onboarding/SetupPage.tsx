export default function SetupPage() {
  return (
    <section className="page">
      <h1>Set up aihub</h1>
    </section>
  );
}
