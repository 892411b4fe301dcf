/** The `type` of the structured error `run` throws, or 'none' when it does not throw. */
export function thrownType(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    return (err as { type: string }).type;
  }
  return 'none';
}
