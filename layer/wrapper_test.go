package layer

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The wrapper points the runtime at the proxy and leaves the runtime's PID
// (its own, which exec keeps) where the extension watches it.
func TestWrapperTellsTheRuntimePID(t *testing.T) {
	port := strconv.Itoa(40000 + os.Getpid()%20000)
	pidFile := "/tmp/.destinations-runtime-" + port + ".pid"
	t.Cleanup(func() { os.Remove(pidFile) })
	cmd := exec.Command("sh", "destinations-wrapper", "sh", "-c", `echo "$$ $AWS_LAMBDA_RUNTIME_API"`)
	cmd.Env = append(os.Environ(), "DESTINATIONS_PROXY_PORT="+port)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s 127.0.0.1:%s", strings.TrimSpace(string(written)), port)
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("the runtime saw %q, want %q (its PID as written, and the proxy's address)", got, want)
	}
}

func TestWrapperRunsWhereTmpIsNotWritable(t *testing.T) {
	cmd := exec.Command("sh", "destinations-wrapper", "echo", "ran")
	cmd.Env = append(os.Environ(), "DESTINATIONS_PROXY_PORT=/nonexistent/dir/x")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ran" {
		t.Errorf("the wrapper must run the runtime whatever happens to the PID file: %v %q", err, out)
	}
}
