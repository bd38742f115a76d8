// Command streamer is a minimal custom runtime that streams its responses
// the way response-streaming runtimes do: a chunked body with
// Lambda-Runtime-Function-Response-Mode: streaming, and, on an error
// midway, the error in the trailers. The end-to-end tests run it under the
// emulator. Event: {"Chunks": N, "FailAfter": M} (M > 0 fails after M chunks).
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	for {
		resp, err := client.Get(base + "next")
		if err != nil {
			fmt.Fprintln(os.Stderr, "next:", err)
			os.Exit(1)
		}
		event, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var ev struct{ Chunks, FailAfter int }
		_ = json.Unmarshal(event, &ev)

		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, base+id+"/response", pr)
		req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
		req.Header.Set("Content-Type", "text/plain")
		req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
		go func() {
			for i := 1; i <= ev.Chunks; i++ {
				if ev.FailAfter > 0 && i > ev.FailAfter {
					body, _ := json.Marshal(map[string]any{"errorMessage": "failed after chunk " + fmt.Sprint(ev.FailAfter), "errorType": "Stream.Failed"})
					req.Trailer.Set("Lambda-Runtime-Function-Error-Type", "Stream.Failed")
					req.Trailer.Set("Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString(body))
					break
				}
				fmt.Fprintf(pw, "chunk %d\n", i)
				time.Sleep(5 * time.Millisecond)
			}
			pw.Close()
		}()
		resp, err = client.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "response:", err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
