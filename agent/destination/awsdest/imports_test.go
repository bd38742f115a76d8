package awsdest

import (
	"os/exec"
	"strings"
	"testing"
)

// The package stays on the SDK's core: no service client, no configuration
// loader (they would triple the extension's size and its cold start).
// Tests may use them.
func TestNoSDKServiceClients(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.CommandContext(ctxT(t), goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/") || pkg == "github.com/aws/aws-sdk-go-v2/config" ||
			strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/feature/") {
			t.Errorf("the package depends on %s", pkg)
		}
	}
}
