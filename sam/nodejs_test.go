package sam_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// nodeRunner imports the handler, calls it with the event in argv and
// prints one line, RESULT {"settled":…,"value"|"error":…,"async":…}.
const nodeRunner = `
const [, module, eventJSON] = process.argv;
const { handler } = await import(module);
const async = handler?.constructor?.name === 'AsyncFunction';
const print = (r) => process.stdout.write('\nRESULT ' + JSON.stringify({ ...r, async, arity: handler.length }) + '\n');
try {
  const value = await handler(JSON.parse(eventJSON), {});
  print({ settled: 'resolved', value: value ?? null });
} catch (e) {
  print({ settled: 'rejected', error: { name: e?.name, message: e?.message } });
}
`

type nodeResult struct {
	Settled string          `json:"settled"`
	Value   json.RawMessage `json:"value"`
	Error   struct {
		Name    string `json:"name"`
		Message string `json:"message"`
	} `json:"error"`
	Async bool `json:"async"`
	Arity int  `json:"arity"`
}

// TestNodeWalkthroughHandler runs sam/nodejs/index.mjs with the machine's node.
func TestNodeWalkthroughHandler(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed:", err)
	}
	module, err := filepath.Abs(filepath.Join("nodejs", "index.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		event       string
		wantSettled string
	}{
		{event: "success.json", wantSettled: "resolved"},
		{event: "failure.json", wantSettled: "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.event, func(t *testing.T) {
			t.Parallel()
			event, err := os.ReadFile(filepath.Join("..", "events", tt.event))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), node, "--input-type=module", "-e", nodeRunner, "file://"+filepath.ToSlash(module), string(event))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			_, line, ok := strings.Cut(string(out), "\nRESULT ")
			if !ok {
				t.Fatalf("no RESULT line in:\n%s", out)
			}
			var got nodeResult
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("RESULT %s: %v", line, err)
			}
			if got.Settled != tt.wantSettled {
				t.Errorf("handler %s, want %s; output:\n%s", got.Settled, tt.wantSettled, out)
			}
			if !got.Async || got.Arity > 2 {
				t.Errorf("handler is async %v with %d parameters: Node.js 24 runtimes want an async handler without callback", got.Async, got.Arity)
			}
			if tt.wantSettled == "rejected" && (got.Error.Name != "Error" || !strings.Contains(got.Error.Message, "Success = false")) {
				t.Errorf("rejected with %+v, want the walkthrough's Error", got.Error)
			}
		})
	}
}
