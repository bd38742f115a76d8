// Command demo shows lambda-destinations at work on this machine: it builds
// the layer and the sample function, runs them under the real Lambda
// Runtime Interface Emulator (what `sam local invoke` runs), invokes the
// sample events and prints what each caller got and the records that
// reached a local webhook and the log.
//
//	go run ./cmd/demo      (make demo)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lambda-destinations/lambda-destinations/internal/receiver"
	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	if err := rie.Available(); err != nil {
		return fmt.Errorf(`the emulator cannot run here: %w

The demo runs the Lambda emulator in a private mount namespace so that the
layer appears at /opt, as Lambda unpacks it. That needs root, or unprivileged
user namespaces (sysctl kernel.unprivileged_userns_clone=1, or on Ubuntu
kernel.apparmor_restrict_unprivileged_userns=0). Otherwise run it as root:
sudo make demo`, err)
	}
	root, err := rie.ModuleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "destinations-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	step("Building the layer (extension, exec wrapper, bootstrap) and the sample Go function")
	layer := filepath.Join(tmp, "layer")
	fn := filepath.Join(tmp, "task", "function")
	if err := rie.BuildLayer(ctx, layer); err != nil {
		return err
	}
	if err := rie.BuildFunction(ctx, "./sam/function", fn); err != nil {
		return err
	}

	hook, err := receiver.New(receiver.Options{})
	if err != nil {
		return err
	}
	defer hook.Close()

	env := map[string]string{
		"DESTINATIONS_ON_SUCCESS": hook.URL() + ",stdout",
		"DESTINATIONS_ON_FAILURE": hook.URL() + ",stdout",
	}
	step("Starting the Lambda Runtime Interface Emulator with the layer at /opt")
	fmt.Printf("  function:  %s (runtime command: /opt/destinations-wrapper %s)\n", "sam/function", "function")
	for _, k := range []string{"DESTINATIONS_ON_SUCCESS", "DESTINATIONS_ON_FAILURE"} {
		fmt.Printf("  %s=%s\n", k, env[k])
	}
	var log bytes.Buffer
	e, err := rie.Start(ctx, rie.Options{
		LayerDir: layer,
		TaskRoot: filepath.Dir(fn),
		Command:  []string{"/opt/destinations-wrapper", fn},
		Env:      env,
		Timeout:  2 * time.Second,
		Output:   &log,
	})
	if err != nil {
		return err
	}
	defer e.Stop()

	for _, name := range []string{"success.json", "failure.json", "timeout.json", "crash.json"} {
		body, err := os.ReadFile(filepath.Join(root, "events", name))
		if err != nil {
			return err
		}
		before := len(hook.Received())
		step(fmt.Sprintf("Invoking with events/%s: %s", name, bytes.TrimSpace(body)))
		resp, err := e.Invoke(ctx, body, nil)
		if err != nil {
			return err
		}
		fmt.Printf("  the caller got: %d %s (%s)\n", resp.Status, bytes.TrimSpace(resp.Body), resp.Latency.Round(time.Millisecond))
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := hook.Wait(wctx, before+1)
		cancel()
		if err != nil {
			fmt.Println("  no record reached the webhook:", err)
			continue
		}
		for _, r := range got[before:] {
			fmt.Printf("  the webhook got a %s record (%s %s):\n", r.Header.Get("X-Destinations-Condition"), r.Method, hook.URL())
			fmt.Println(indent(pretty(r.Body), "    "))
		}
	}

	step("The same records, as the stdout destination wrote them to the function's log")
	n := 0
	sc := bufio.NewScanner(strings.NewReader(log.String()))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"msg":"execution record"`) {
			n++
			fmt.Println("  " + sc.Text())
		}
	}
	fmt.Printf("\n%d records on the webhook, %d in the log: one per invocation for each destination.\n", len(hook.Received()), n)
	return nil
}

func step(s string) { fmt.Printf("\n== %s\n", s) }

func pretty(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
