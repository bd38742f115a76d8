// Command telemetry is an external extension for the harness's tests: it
// registers for SHUTDOWN (all that Lambda Managed Instances allows),
// subscribes to the Telemetry API's platform events and prints each event it
// receives on a line of its own, "telemetry event: {…}", so that a test can
// read them from the emulator's output. It exits at SHUTDOWN.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	if err := run(); err != nil {
		fmt.Println("telemetry extension:", err)
		os.Exit(1)
	}
}

func run() error {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API")
	// Lambda asks for the executable's file name as the extension's name.
	name := filepath.Base(os.Args[0])
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}

	req, _ := http.NewRequest(http.MethodPost, api+"/2020-01-01/extension/register", bytes.NewReader([]byte(`{"events":["SHUTDOWN"]}`)))
	req.Header.Set("Lambda-Extension-Name", name)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register: status %d", resp.StatusCode)
	}
	id := resp.Header.Get("Lambda-Extension-Identifier")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for events: %w", err)
	}
	go func() { _ = http.Serve(l, http.HandlerFunc(printEvents)) }()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)

	sub := `{"schemaVersion":"2025-01-29","types":["platform"],` +
		`"buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},` +
		`"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:` + port + `"}}`
	req, _ = http.NewRequest(http.MethodPut, api+"/2022-07-01/telemetry", bytes.NewReader([]byte(sub)))
	req.Header.Set("Lambda-Extension-Identifier", id)
	resp, err = client.Do(req)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("telemetry subscribed: %d %s\n", resp.StatusCode, answer)

	for {
		req, _ = http.NewRequest(http.MethodGet, api+"/2020-01-01/extension/event/next", nil)
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err = client.Do(req)
		if err != nil {
			return fmt.Errorf("next: %w", err)
		}
		var ev struct {
			EventType      string `json:"eventType"`
			ShutdownReason string `json:"shutdownReason"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ev)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("next: %w", err)
		}
		if ev.EventType == "SHUTDOWN" {
			fmt.Printf("telemetry shutdown: %s\n", ev.ShutdownReason)
			return nil
		}
	}
}

// printEvents prints each event of a batch the Telemetry API posts.
func printEvents(w http.ResponseWriter, r *http.Request) {
	var batch []json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&batch); err != nil {
		fmt.Println("telemetry extension: batch:", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var b bytes.Buffer
	for _, ev := range batch {
		b.WriteString("telemetry event: ")
		_ = json.Compact(&b, ev)
		b.WriteByte('\n')
	}
	// One write per batch: lines of concurrent batches do not interleave.
	_, _ = os.Stdout.Write(b.Bytes())
}
