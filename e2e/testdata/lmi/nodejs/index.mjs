// For e2e/lmi_test.go, under aws-lambda-ric 4's multi-concurrent mode: the
// walkthrough's handler (sam/nodejs/index.mjs, which the test copies beside
// this file as walkthrough.mjs) answers {"Success": …} events, after
// {"Sleep": ms} when the event asks; {"Await": URL} answers once a fetch of
// URL does, so that a test holds an invocation running past its deadline;
// {"Bytes": n} answers a string of n characters (a JSON string of n + 2
// bytes); {"Fail": message} throws.
import { handler as walkthrough } from './walkthrough.mjs';

export const handler = async (event) => {
  // Made before any await: a stack taken after one depends on which queue
  // resumed the handler, and two runs must give callers the same bytes.
  const failure = event?.Fail ? new Error(event.Fail) : null;
  if (event?.Sleep) {
    await new Promise((resolve) => setTimeout(resolve, event.Sleep));
  }
  if (event?.Await) {
    await fetch(event.Await);
    return { awaited: true };
  }
  if (event?.Bytes) {
    return 'x'.repeat(event.Bytes);
  }
  if (failure) {
    throw failure;
  }
  return walkthrough(event);
};
