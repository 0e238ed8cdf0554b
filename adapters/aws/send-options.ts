/**
 * The options of an SDK `send`: the signal that cancels the request, when there is one.
 * The SDK's `abortSignal` is optional but not `undefined`, so a missing signal is left out.
 */
export function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal !== undefined ? { abortSignal: signal } : {};
}
