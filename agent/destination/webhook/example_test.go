package webhook_test

import (
	"io"
	"net/http"
	"os"
	"time"

	"github.com/lambda-destinations/lambda-destinations/agent/destination/webhook"
)

// A receiver verifies a signed webhook request (the README shows this code).
func ExampleVerify() {
	secret := os.Getenv("DESTINATIONS_WEBHOOK_SECRET")
	http.HandleFunc("POST /records", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderTimestamp),
			r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // 401: not retried
			return
		}
		w.WriteHeader(http.StatusNoContent) // body is the execution record, as signed
	})
}
