// Command noopext is the do-nothing Lambda extension that `make bench`
// measures the layer against: it registers for INVOKE and SHUTDOWN and asks
// for the next event until SHUTDOWN, nothing else. It is the floor every
// external extension pays (the emulator waits for its registration at init
// and for its /next after each invocation).
//
// It is built into a layer directory as extensions/noop; Lambda takes the
// extension's name from the file name.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "noop extension:", err)
		os.Exit(1)
	}
}

func run() error {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension/"
	// The Extensions API is local: never through HTTP_PROXY.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}

	req, err := http.NewRequest(http.MethodPost, base+"register", bytes.NewReader([]byte(`{"events":["INVOKE","SHUTDOWN"]}`)))
	if err != nil {
		return err
	}
	req.Header.Set("Lambda-Extension-Name", filepath.Base(os.Args[0]))
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register: status %d", resp.StatusCode)
	}
	id := resp.Header.Get("Lambda-Extension-Identifier")

	for {
		req, err := http.NewRequest(http.MethodGet, base+"event/next", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Lambda-Extension-Identifier", id)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("next: %w", err)
		}
		var ev struct {
			EventType string `json:"eventType"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ev)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("next: status %d: %v", resp.StatusCode, err)
		}
		if ev.EventType == "SHUTDOWN" {
			return nil
		}
	}
}
