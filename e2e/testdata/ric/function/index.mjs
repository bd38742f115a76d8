// For e2e/nodejs_test.go: a Node.js handler whose process dies during an
// invocation, as a crashing function does. {"Crash": true} exits the
// process with status 3 without posting anything; any other event succeeds.
export const handler = async (event) => {
  if (event?.Crash) {
    process.exit(3);
  }
  return { ok: true };
};
