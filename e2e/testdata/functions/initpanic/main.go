// Command initpanic is a Go function that fails during init, before it
// reaches lambda.Start, as one whose configuration cannot load does: it
// panics, so aws-lambda-go never talks to the Runtime API and the process
// exits with status 2. The end-to-end tests run it under the emulator.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type config struct {
	Table string `json:"table"`
}

func load() (config, error) {
	var c config
	err := json.Unmarshal([]byte(os.Getenv("FUNCTION_CONFIG")), &c)
	if err != nil {
		return c, fmt.Errorf("FUNCTION_CONFIG: %w", err)
	}
	return c, nil
}

func main() {
	c, err := load()
	if err != nil {
		panic(err)
	}
	lambda.Start(func(ctx context.Context, event json.RawMessage) (config, error) { return c, nil })
}
