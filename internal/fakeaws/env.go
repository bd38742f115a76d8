package fakeaws

import (
	"os"
	"strings"
	"testing"
)

// Env isolates a test's AWS clients from the machine: every AWS_ variable
// of the caller is unset for the test, the fakes' credentials and region
// us-east-1 are set, and then the given variables (AWS_ENDPOINT_URL_SQS…).
func Env(t testing.TB, vars ...string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "") // restores the value after the test
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretAccessKey)
	t.Setenv("AWS_REGION", "us-east-1")
	for i := 0; i+1 < len(vars); i += 2 {
		t.Setenv(vars[i], vars[i+1])
	}
}
