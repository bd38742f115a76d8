package riet

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/lambda-destinations/lambda-destinations/internal/rie"
)

func TestStartT(t *testing.T) {
	bin := FunctionT(t, "./sam/function", "handler")
	e := StartT(t, rie.Options{TaskRoot: filepath.Dir(bin), Command: []string{bin}})
	resp, err := e.Invoke(t.Context(), []byte(`{"Success": true}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || string(resp.Body) != `{"ok":true,"message":"success"}` {
		t.Errorf("got %d %s", resp.Status, resp.Body)
	}
}
