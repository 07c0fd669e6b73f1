/**
 * Waits for a condition instead of sleeping a fixed time: polls it every `intervalMs` until
 * it holds, and fails with `what` after `timeoutMs`. Fast when the system is, patient when
 * the machine is loaded.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what = "condition",
  { timeoutMs = 10_000, intervalMs = 10 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
