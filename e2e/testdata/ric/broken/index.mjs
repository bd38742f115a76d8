// For e2e/outcomes_test.go: a handler that cannot load, as a deployment
// that forgot its node_modules cannot: importing a package that is not
// installed fails with ERR_MODULE_NOT_FOUND, and aws-lambda-ric posts that
// to /runtime/init/error.
import { handle } from "a-package-that-is-not-installed";

export const handler = async (event) => handle(event);
