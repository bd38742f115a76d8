package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/agent/destination"
)

// TestErrorsKeepThePathSecret: a webhook's path is often its secret; no
// error names it, whatever fails.
func TestErrorsKeepThePathSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for _, url := range []string{srv.URL + "/services/SECRET", downURL + "/services/SECRET?token=SECRET"} {
		err := New(url, nil).Send(context.Background(), destination.Message{Record: []byte(`{}`)})
		if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), "/…") {
			t.Errorf("error %v", err)
		}
	}
	srv.Close()
}
